/* Allocator policy for processes that scan large files. */
#include "strata/core.h"

#include <malloc.h>

void st_keep_freed_memory(void) {
    /* Reading Parquet allocates and frees row-group-sized buffers again and
     * again. glibc serves big blocks with fresh mmaps and unmaps them on free,
     * so every row group pays for its pages twice in the kernel (about half the
     * CPU time of a full scan). Keeping freed memory in the heap lets the next
     * row group reuse warm pages. */
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    mallopt(M_TOP_PAD, 64 << 20);
}
