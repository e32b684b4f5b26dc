# Runs sipdump once and checks its exit status and output; any mismatch fails the test.
#
#   cmake -DSIPDUMP=<exe> -DWORK=<scratch dir> -DCASE=<case file> -P run_sipdump.cmake
#
# The case file (written by tests/examples/CMakeLists.txt) sets any of:
#   ARGS          sipdump's arguments, '|'-separated
#   STDIN         a file to feed to sipdump's stdin
#   CONCAT        files, '|'-separated, written back to back with a CRLFCRLF keep-alive
#                 between them into a scratch file passed as the last argument (a
#                 TCP-style stream for --stream)
#   EXPECT_EXIT   the exit status (default 0)
#   STDOUT_MATCH  regexes, '&&'-separated, that stdout must all match
#   STDERR_MATCH  the same for stderr
#   COUNT_REGEX, COUNT   stdout holds exactly COUNT matches of COUNT_REGEX
#   JSON_LINES    stdout is exactly that many lines, each a JSON object
#   JSON_EXPECT   '&&'-separated <line>:<path>=<value>: on line <line> (1-based) the member
#                 at <path> (dot-separated, array indices as numbers: via.0.branch) is <value>
# The values come through a file rather than -D options because regexes hold ';', which
# a command line built by add_test() would split.
cmake_minimum_required(VERSION 3.20)
include(${CASE})
if(NOT SIPDUMP)
  message(FATAL_ERROR "run_sipdump.cmake: -DSIPDUMP=<exe> is required")
endif()
if(NOT DEFINED EXPECT_EXIT)
  set(EXPECT_EXIT 0)
endif()
string(REPLACE "|" ";" args "${ARGS}")

if(CONCAT)
  # file(READ) would drop the CRs, so let `cmake -E cat` copy the bytes.
  file(MAKE_DIRECTORY ${WORK})
  file(WRITE ${WORK}/keepalive.bin "\r\n\r\n")
  string(REPLACE "|" ";${WORK}/keepalive.bin;" parts "${CONCAT}")
  execute_process(COMMAND ${CMAKE_COMMAND} -E cat ${parts} OUTPUT_FILE ${WORK}/stream.bin
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "run_sipdump.cmake: cannot concatenate ${CONCAT}")
  endif()
  list(APPEND args ${WORK}/stream.bin)
endif()

set(input_args "")
if(STDIN)
  set(input_args INPUT_FILE ${STDIN})
endif()
execute_process(COMMAND ${SIPDUMP} ${args} ${input_args}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)

set(problems "")
if(NOT "${rc}" STREQUAL "${EXPECT_EXIT}")
  string(APPEND problems "exit status ${rc}, expected ${EXPECT_EXIT}\n")
endif()

# split(<text> <separator> <prefix>): <prefix>_count and <prefix>_1 ... without CMake
# lists, which would also split at ';' and treat '[' ']' specially.
function(split text separator prefix)
  string(LENGTH "${separator}" skip)
  set(n 0)
  while(TRUE)
    math(EXPR n "${n} + 1")
    string(FIND "${text}" "${separator}" at)
    if(at EQUAL -1)
      set(${prefix}_${n} "${text}" PARENT_SCOPE)
      break()
    endif()
    string(SUBSTRING "${text}" 0 ${at} item)
    set(${prefix}_${n} "${item}" PARENT_SCOPE)
    math(EXPR at "${at} + ${skip}")
    string(SUBSTRING "${text}" ${at} -1 text)
  endwhile()
  set(${prefix}_count ${n} PARENT_SCOPE)
endfunction()

function(check_all stream_name text regexes)
  split("${regexes}" "&&" re)
  foreach(i RANGE 1 ${re_count})
    if(NOT text MATCHES "${re_${i}}")
      string(APPEND problems "${stream_name} does not match: ${re_${i}}\n")
    endif()
  endforeach()
  set(problems "${problems}" PARENT_SCOPE)
endfunction()
if(DEFINED STDOUT_MATCH)
  check_all(stdout "${out}" "${STDOUT_MATCH}")
endif()
if(DEFINED STDERR_MATCH)
  check_all(stderr "${err}" "${STDERR_MATCH}")
endif()

if(DEFINED COUNT_REGEX)
  string(REGEX MATCHALL "${COUNT_REGEX}" matches "${out}")
  list(LENGTH matches n)
  if(NOT n EQUAL COUNT)
    string(APPEND problems "stdout has ${n} matches of ${COUNT_REGEX}, expected ${COUNT}\n")
  endif()
endif()

if(DEFINED JSON_LINES OR DEFINED JSON_EXPECT)
  # One record per line: JSON escapes every control character.
  set(line_count 0)
  if(NOT out STREQUAL "")
    string(REGEX REPLACE "\n$" "" records "${out}")
    split("${records}" "\n" line)
    foreach(i RANGE 1 ${line_count})
      string(JSON type ERROR_VARIABLE json_error TYPE "${line_${i}}")
      if(json_error OR NOT type STREQUAL "OBJECT")
        string(APPEND problems "line ${i} is not a JSON object (${json_error}): ${line_${i}}\n")
      endif()
    endforeach()
  endif()
  if(DEFINED JSON_LINES AND NOT line_count EQUAL JSON_LINES)
    string(APPEND problems "stdout has ${line_count} lines, expected ${JSON_LINES}\n")
  endif()
  if(DEFINED JSON_EXPECT)
    split("${JSON_EXPECT}" "&&" expect)
    foreach(i RANGE 1 ${expect_count})
      if(NOT expect_${i} MATCHES "^([0-9]+):([^=]+)=(.*)$")
        message(FATAL_ERROR "run_sipdump.cmake: bad JSON_EXPECT entry ${expect_${i}}")
      endif()
      set(n ${CMAKE_MATCH_1})
      set(key "${CMAKE_MATCH_2}")
      set(want "${CMAKE_MATCH_3}")
      string(REPLACE "." ";" path "${key}")
      string(JSON got ERROR_VARIABLE json_error GET "${line_${n}}" ${path})
      if(json_error OR NOT got STREQUAL want)
        string(APPEND problems "line ${n}: ${key} is '${got}' (${json_error}), expected '${want}'\n")
      endif()
    endforeach()
  endif()
endif()

if(problems)
  message(FATAL_ERROR "sipdump ${args}\n${problems}--- stdout:\n${out}--- stderr:\n${err}")
endif()
