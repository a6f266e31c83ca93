/* docs/openapi.json, built into the binary: the assembler includes the
 * file as it is (the Makefile makes this object depend on it), so the
 * document served is the one in the repository, and the unit test that
 * compares it with the route table reads the same bytes. Owns nothing else. */
#include <stddef.h>

#include "api_server.h"

__asm__(".section .rodata\n"
        ".balign 16\n"
        ".globl tc_openapi_start\n"
        ".hidden tc_openapi_start\n"
        "tc_openapi_start:\n"
        ".incbin \"docs/openapi.json\"\n"
        ".globl tc_openapi_end\n"
        ".hidden tc_openapi_end\n"
        "tc_openapi_end:\n"
        ".byte 0\n"
        ".previous\n");

extern const char tc_openapi_start[], tc_openapi_end[];

const char *api_openapi_text(size_t *len)
{
    *len = (size_t)(tc_openapi_end - tc_openapi_start);
    return tc_openapi_start;
}
