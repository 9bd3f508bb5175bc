// <mpi.h> without the deprecated MPI C++ bindings (Open MPI's and MPICH's), which we do not use
// and whose headers do not compile cleanly under -Wextra -Werror.
#pragma once

#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>
