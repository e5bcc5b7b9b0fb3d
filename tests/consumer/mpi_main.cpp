// A consumer of metagrad::mpi: it compiles and links against MPI through the exported target.
#include <metagrad/dist/data_parallel.hpp>
#include <metagrad/dist/mpi.hpp>

static_assert(metagrad::communicator<metagrad::mpi_communicator>);

int main() { return metagrad::launched_by_mpi() ? 1 : 0; }
