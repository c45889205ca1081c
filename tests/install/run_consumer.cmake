# ctest install.consumer: installs the build tree to a temporary prefix,
# builds consumer/ against it with find_package and with pkg-config, and
# runs both programs.
#   cmake -DBUILD_DIR=... -DWORK_DIR=... -DCXX=... [-DLAUNCHER=ccache] -P run_consumer.cmake
set(source ${CMAKE_CURRENT_LIST_DIR}/consumer)
set(prefix ${WORK_DIR}/prefix)
file(REMOVE_RECURSE ${WORK_DIR})

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                  TIMEOUT 300)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

function(expect_greetings program)
  run("running ${program}" ${program})
  if(NOT last_output STREQUAL "over a pipe\nover tcp\n")
    message(FATAL_ERROR "${program} printed:\n${last_output}")
  endif()
endfunction()

run("cmake --install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})

# find_package(libchan)
set(launcher)
if(LAUNCHER)
  set(launcher -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
endif()
run("configuring the consumer" ${CMAKE_COMMAND} -S ${source} -B ${WORK_DIR}/build
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_CXX_COMPILER=${CXX} ${launcher})
run("building the consumer" ${CMAKE_COMMAND} --build ${WORK_DIR}/build)
expect_greetings(${WORK_DIR}/build/consumer)

# pkg-config
find_program(PKG_CONFIG pkg-config REQUIRED)
file(GLOB_RECURSE pc_files ${prefix}/*/libchan.pc)
list(GET pc_files 0 pc_file)
get_filename_component(pc_dir ${pc_file} DIRECTORY)
set(ENV{PKG_CONFIG_PATH} ${pc_dir})
run("pkg-config --cflags" ${PKG_CONFIG} --cflags libchan)
string(STRIP "${last_output}" cflags)
run("pkg-config --libs" ${PKG_CONFIG} --libs libchan)
string(STRIP "${last_output}" libs)
separate_arguments(cflags UNIX_COMMAND "${cflags}")
separate_arguments(libs UNIX_COMMAND "${libs}")
run("compiling with pkg-config's flags" ${LAUNCHER} ${CXX} ${cflags} ${source}/main.cpp ${libs}
    -o ${WORK_DIR}/consumer-pc)
expect_greetings(${WORK_DIR}/consumer-pc)
