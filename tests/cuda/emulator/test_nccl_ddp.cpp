// The unchanged CUDA test source, compiled by the host compiler against the CUDA emulator.
#include "../test_nccl_ddp.cu"
