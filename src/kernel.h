/* hardmax as a Jupyter kernel: `hardmax --kernel CONNECTION_FILE` and
 * `hardmax --install-kernel [--user | --prefix DIR | --sys-prefix] [--name NAME]`.
 * The transport is src/kernel_wire.c, the protocol lua/hardmax/kernel.lua (docs/jupyter.md). */
#ifndef HM_KERNEL_H
#define HM_KERNEL_H

#include <lua.h>

/* luaopen function of the internal module "hardmax.kernel_wire" (sockets, signing, output
 * capture); only the host has it, since it links libzmq. */
int hm_kernel_open_wire(lua_State *L);

/* Serve the connection file until shutdown; returns the process exit status. */
int hm_kernel_run(lua_State *L, const char *connection_file);

/* Write the kernelspec; args are the words after --install-kernel. Returns the exit status. */
int hm_kernel_install(lua_State *L, int argc, char **argv);

#endif
