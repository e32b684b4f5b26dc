# Builds and runs tests/consumer/project against this sipkit build; any failing step fails.
#
#   cmake -DMODE=install|subdirectory -DSIPKIT_SOURCE_DIR=... -DSIPKIT_BINARY_DIR=...
#         -DWORK_DIR=... -DGENERATOR=... [-DMAKE_PROGRAM=...] -DCXX_COMPILER=...
#         [-DBUILD_TYPE=...] [-DLINKER_FLAGS=...] -P run_consumer.cmake
#
# MODE=install:      cmake --install <SIPKIT_BINARY_DIR> --prefix <WORK_DIR>/prefix, then the
#                    project finds it with find_package(sipkit) via CMAKE_PREFIX_PATH.
# MODE=subdirectory: the project/subdirectory variant builds sipkit from SIPKIT_SOURCE_DIR
#                    with add_subdirectory().
cmake_minimum_required(VERSION 3.20)
foreach(var MODE SIPKIT_SOURCE_DIR SIPKIT_BINARY_DIR WORK_DIR GENERATOR CXX_COMPILER)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_consumer.cmake: -D${var}=... is required")
  endif()
endforeach()

set(project_dir ${SIPKIT_SOURCE_DIR}/tests/consumer/project)
set(build_dir ${WORK_DIR}/build)

function(run step)
  message(STATUS "consumer (${MODE}): ${step}: ${ARGN}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer (${MODE}): ${step} failed (${rc}):\n${out}")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

set(configure_args -G ${GENERATOR} -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
if(MAKE_PROGRAM)
  list(APPEND configure_args -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM})
endif()
if(BUILD_TYPE)
  list(APPEND configure_args -DCMAKE_BUILD_TYPE=${BUILD_TYPE})
endif()

if(MODE STREQUAL "install")
  set(prefix ${WORK_DIR}/prefix)
  run("install" ${CMAKE_COMMAND} --install ${SIPKIT_BINARY_DIR} --prefix ${prefix})
  if(NOT EXISTS ${prefix}/lib/cmake/sipkit/sipkitConfig.cmake
     AND NOT EXISTS ${prefix}/lib64/cmake/sipkit/sipkitConfig.cmake)
    message(FATAL_ERROR "consumer (install): no sipkitConfig.cmake under ${prefix}")
  endif()
  # A sanitizer build installs instrumented libraries; the consumer then links the runtime.
  if(LINKER_FLAGS)
    list(APPEND configure_args "-DCMAKE_EXE_LINKER_FLAGS=${LINKER_FLAGS}")
  endif()
  run("configure" ${CMAKE_COMMAND} -S ${project_dir} -B ${build_dir} ${configure_args}
      -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON)
elseif(MODE STREQUAL "subdirectory")
  run("configure" ${CMAKE_COMMAND} -S ${project_dir}/subdirectory -B ${build_dir}
      ${configure_args} -DSIPKIT_SOURCE_DIR=${SIPKIT_SOURCE_DIR})
else()
  message(FATAL_ERROR "run_consumer.cmake: MODE must be install or subdirectory")
endif()

run("build" ${CMAKE_COMMAND} --build ${build_dir} --parallel 2)
find_program(consumer sipkit_consumer PATHS ${build_dir} NO_DEFAULT_PATH NO_CACHE)
if(NOT consumer)
  message(FATAL_ERROR "consumer (${MODE}): the build produced no sipkit_consumer")
endif()
run("run" ${consumer})
if(NOT step_output MATCHES "sipkit consumer: ok")
  message(FATAL_ERROR "consumer (${MODE}): unexpected output:\n${step_output}")
endif()
message(STATUS "consumer (${MODE}): ${step_output}")
