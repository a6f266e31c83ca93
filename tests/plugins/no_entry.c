/* Test plugin: exports no tc_source_entry; the host must refuse it. */
int tc_something_else(void);
__attribute__((visibility("default"))) int tc_something_else(void) { return 1; }
