/* commands.h: the subcommands of `hyperntk`, one per file in sims/.
 * Each takes argv starting at the subcommand's name and returns an exit code
 * (0 success, 1 failure, 2 bad usage). */
#ifndef HYPERNTK_SIMS_COMMANDS_H
#define HYPERNTK_SIMS_COMMANDS_H

#include "hyperntk/hyperntk.h"

int hntk_cmd_kernel(int argc, char **argv);
int hntk_cmd_analytic(int argc, char **argv);
int hntk_cmd_inputs(int argc, char **argv);
int hntk_cmd_export(int argc, char **argv);
int hntk_cmd_compare(int argc, char **argv);
int hntk_cmd_bench(int argc, char **argv);
int hntk_cmd_thm1(int argc, char **argv);
int hntk_cmd_fig1a(int argc, char **argv);
int hntk_cmd_fig1b(int argc, char **argv);
int hntk_cmd_thm2(int argc, char **argv);
int hntk_cmd_thm3(int argc, char **argv);
int hntk_cmd_complete(int argc, char **argv);
int hntk_cmd_widelr(int argc, char **argv);
int hntk_cmd_rotations(int argc, char **argv);

#endif
