# Warnings for sipkit's own targets. -Werror only when asked (CI asks), so that a
# newer compiler on a user's machine never breaks their build of a release.
function(sipkit_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                           -Wno-sign-conversion)
  if(SIPKIT_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  # g++ 12 at -O3 reports impossible memcpy overlaps inside libstdc++'s std::string
  # (GCC bug 105329: `"x" + std::string` and string::insert after inlining). A false
  # positive there, so it stays a warning instead of failing a -Werror build.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE -Wno-error=restrict)
  endif()
endfunction()
