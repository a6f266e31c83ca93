#ifndef TC_VERSION_H
#define TC_VERSION_H
#define TC_VERSION_STRING "0.1.0"
#endif
