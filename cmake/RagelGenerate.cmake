# ragel_generate(<out_var> <file.rl>...)
# Turns each grammar into C++ inside the build tree at build time (ragel -G2, the fastest
# goto-driven code style). Generated files are never committed; edit the .rl instead.
find_program(RAGEL_EXECUTABLE ragel REQUIRED)

function(ragel_generate out_var)
  set(outputs)
  file(GLOB common_grammars ${SIPKIT_GRAMMAR_DIR}/*_common.rl)
  foreach(rl IN LISTS ARGN)
    get_filename_component(name ${rl} NAME_WE)
    set(out ${CMAKE_CURRENT_BINARY_DIR}/generated/${name}.cpp)
    add_custom_command(
      OUTPUT ${out}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_CURRENT_BINARY_DIR}/generated
      COMMAND ${RAGEL_EXECUTABLE} -G2 -I ${SIPKIT_GRAMMAR_DIR} -o ${out} ${rl}
      DEPENDS ${rl} ${common_grammars}
      COMMENT "Ragel: ${name}.rl -> ${name}.cpp"
      VERBATIM)
    # Ragel's tables declare constants some entry points never read.
    set_source_files_properties(${out} PROPERTIES COMPILE_OPTIONS
      "-Wno-unused-const-variable;-Wno-unused-variable;-Wno-implicit-fallthrough;-Wno-unused-label")
    list(APPEND outputs ${out})
  endforeach()
  set(${out_var} ${outputs} PARENT_SCOPE)
endfunction()
