/* SPDX-License-Identifier: MIT */
/* triple (v1): makes the vCPU triple-fault.  Loads a zero-limit IDT, then raises an
 * exception: delivery fails (#GP), fails again (#DF) and the CPU shuts down
 * (KVM_EXIT_SHUTDOWN).  Prints nothing before.  argv[1] picks the exception: "div0"
 * (default: #DE from a division by zero), "ud2" (#UD) or "int3" (#BP).  On the kvm_pvm hosts
 * (hermit-abi.md g), whose instruction emulator runs CPL-0 code, div0 and ud2 were measured to
 * triple-fault, while int3 is not emulated in 64-bit mode and ends KVM_RUN with
 * KVM_EXIT_INTERNAL_ERROR instead.  If the guest ever gets past the fault it prints
 * "survived\n" and exits 3. */
#include "rt.h"

int guest_main(const struct uh_boot_info *bi, unsigned cpu)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = {0, 0};
	const char *how = "div0";

	(void)bi;
	if (cpu != 0) {
		return 0;
	}
	if (rt_args_init() == 0 && rt_argc >= 2) {
		how = rt_argv[1];
	}
	__asm__ volatile("lidt %0" : : "m"(idtr) : "memory");
	if (rt_streq(how, "ud2")) {
		__asm__ volatile("ud2" ::: "memory");
	} else if (rt_streq(how, "int3")) {
		__asm__ volatile("int3" ::: "memory");
	} else {
		uint32_t zero = 0;

		__asm__ volatile("xorl %%edx, %%edx; movl $1, %%eax; divl %0"
				 :
				 : "r"(zero)
				 : "eax", "edx", "memory");
	}
	rt_printf("survived\n");
	return 3;
}
