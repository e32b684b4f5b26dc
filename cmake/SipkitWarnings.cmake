# Warnings for sipkit's own targets. -Werror only when asked (CI asks), so that a
# newer compiler on a user's machine never breaks their build of a release.
function(sipkit_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                           -Wno-sign-conversion)
  if(SIPKIT_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
