/* tokencollector SDK: checks against the sized ABI structs of plugin.h. */
#ifndef TOKENCOLLECTOR_SDK_COMPAT_H
#define TOKENCOLLECTOR_SDK_COMPAT_H

#include <stddef.h>

#include "../plugin.h"

/* 1 when the sized struct *P (with a struct_size member) includes MEMBER:
 * check it before using a member appended after ABI 1.0. */
#define TC_HAS_MEMBER(p, type, member)                                     \
    ((size_t)(p)->struct_size >= offsetof(type, member) + sizeof(((type *)0)->member))

#endif /* TOKENCOLLECTOR_SDK_COMPAT_H */
