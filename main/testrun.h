/* The test runner (main/testrun.c). */
#ifndef SMMSYNC_TESTRUN_H
#define SMMSYNC_TESTRUN_H
void run_tests(void);
#endif
