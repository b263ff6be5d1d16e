#include "strata/core.h"
#include <stdio.h>
int main(void) { printf("strata %s\n", ST_VERSION_STRING); return 0; }
