#include "device/embedded.h"

#include <string.h>

const mltc_embedded_file *mltc_embedded_find(const mltc_embedded_file *table, const char *name) {
    for (; table && table->name; table++)
        if (strcmp(table->name, name) == 0) return table;
    return NULL;
}
