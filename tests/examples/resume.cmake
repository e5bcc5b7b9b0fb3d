# Runs a Fashion-MNIST example (NAME: fashion_mnist or fashion_cnn) three ways on the same small subset: straight through, stopped
# after one epoch with a checkpoint, and resumed from that checkpoint. The straight and the
# resumed run must report the same test accuracy and loss, digit for digit, and the log must
# have been written.
set(args ${ARGS})  # a CMake list
if(NOT NAME)
    set(NAME fashion_mnist)
endif()
set(checkpoint ${WORK}/${NAME}_resume.safetensors)
file(REMOVE ${checkpoint})

execute_process(COMMAND ${PROGRAM} ${args} --log ${WORK}/${NAME}_log.csv --plot ${WORK}/${NAME}.svg
                OUTPUT_VARIABLE straight RESULT_VARIABLE code)
if(NOT code EQUAL 0)
    message(FATAL_ERROR "the straight run failed (${code}):\n${straight}")
endif()
execute_process(COMMAND ${PROGRAM} ${args} --checkpoint ${checkpoint} --stop-after 1 OUTPUT_VARIABLE first RESULT_VARIABLE code)
if(NOT code EQUAL 0)
    message(FATAL_ERROR "the interrupted run failed (${code}):\n${first}")
endif()
execute_process(COMMAND ${PROGRAM} ${args} --resume ${checkpoint} OUTPUT_VARIABLE resumed RESULT_VARIABLE code)
if(NOT code EQUAL 0)
    message(FATAL_ERROR "the resumed run failed (${code}):\n${resumed}")
endif()

string(REGEX MATCH "test accuracy [0-9.]+ \\(loss [0-9.]+\\)" straight_result "${straight}")
string(REGEX MATCH "test accuracy [0-9.]+ \\(loss [0-9.]+\\)" resumed_result "${resumed}")
if(NOT straight_result OR NOT straight_result STREQUAL resumed_result)
    message(FATAL_ERROR "resuming changed the result:\nstraight: '${straight_result}'\nresumed: '${resumed_result}'\n${resumed}")
endif()
if(NOT resumed MATCHES "resumed from .* after epoch 1")
    message(FATAL_ERROR "the resumed run did not say where it resumed:\n${resumed}")
endif()
file(STRINGS ${WORK}/${NAME}_log.csv log_lines)
list(LENGTH log_lines count)
if(NOT count EQUAL 3)
    message(FATAL_ERROR "the log should have a header and 2 epochs, it has ${count} lines")
endif()
message(STATUS "straight and resumed runs agree: ${straight_result}")
