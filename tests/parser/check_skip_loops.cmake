# ctest driver: ragel -x on the message grammar, then check_skip_loops.py on the graph.
execute_process(COMMAND ${RAGEL} -x -I ${GRAMMAR_DIR} -o ${OUT} ${GRAMMAR_DIR}/sip_message.rl
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "ragel -x failed")
endif()
execute_process(COMMAND ${PYTHON} ${CMAKE_CURRENT_LIST_DIR}/check_skip_loops.py ${OUT}
                        ${SOURCE_DIR}/src/parser/byte_class.hpp
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "a skip loop may change the language")
endif()
