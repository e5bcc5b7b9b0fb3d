# Runs one fuzz harness for SECONDS from a scratch copy of its seed corpus (the repository's
# corpus is never written), adding seeds freshly written by fuzz_seeds. Fails on any finding.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/corpus ${WORK}/fresh)
file(GLOB seeds ${CORPUS}/*)
file(COPY ${seeds} DESTINATION ${WORK}/corpus)
execute_process(COMMAND ${SEEDS} ${WORK}/fresh RESULT_VARIABLE status)
if(NOT status EQUAL 0)
    message(FATAL_ERROR "fuzz_seeds failed: ${status}")
endif()
file(GLOB fresh ${WORK}/fresh/${NAME}/*)
foreach(seed ${fresh})
    get_filename_component(base ${seed} NAME)
    file(COPY_FILE ${seed} ${WORK}/corpus/fresh-${base})
endforeach()
execute_process(COMMAND ${HARNESS} -max_total_time=${SECONDS} -timeout=10 -print_final_stats=1
                        -artifact_prefix=${WORK}/ ${WORK}/corpus
                RESULT_VARIABLE status)
if(NOT status EQUAL 0)
    message(FATAL_ERROR "fuzz_${NAME} found a problem (exit status ${status}); the input is in ${WORK}/")
endif()
