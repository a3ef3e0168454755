// The ABI is the header; this file exists because a C target needs a source file.
#include "porin_datapath.h"
