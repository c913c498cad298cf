/* hardmax as a Jupyter kernel: `hardmax --kernel CONNECTION_FILE` and
 * `hardmax --install-kernel [--user | --prefix DIR | --sys-prefix] [--name NAME]`.
 * The transport is src/kernel_wire.c, the protocol lua/hardmax/kernel.lua (docs/jupyter.md). */
#ifndef HM_KERNEL_H
#define HM_KERNEL_H

#include <lua.h>

/* luaopen function of the internal module "hardmax.kernel_wire" (sockets, signing, output
 * capture); only the host has it, since it links libzmq. */
int hm_kernel_open_wire(lua_State *L);

/* Read the connection file, bind the sockets, capture output (returns 0, or the exit status
 * of a failure); then serve until shutdown (returns the process exit status). A sandbox
 * engages between the two. */
int hm_kernel_open(lua_State *L, const char *connection_file);
int hm_kernel_serve(lua_State *L);

/* After hm_kernel_open: the private folder figure values are rendered in (a sandbox must let
 * the kernel write there), or NULL before. */
const char *hm_kernel_figure_dir(void);

/* Write the kernelspec; args are the words after --install-kernel. Returns the exit status. */
int hm_kernel_install(lua_State *L, int argc, char **argv);

#endif
