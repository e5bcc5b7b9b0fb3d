#include "metagrad/dist/mpi.hpp"
#include "metagrad/dist/mpi.hpp"
