// SPDX-License-Identifier: GPL-2.0-only
/* The smallest module a DKMS kit can build, for kdriver's tests. */
#include <linux/module.h>

static int __init hello_init(void) { return 0; }
static void __exit hello_exit(void) { }
module_init(hello_init);
module_exit(hello_exit);
MODULE_LICENSE("GPL");
MODULE_VERSION("1.2");
