/* SPDX-License-Identifier: MIT */
/* assist_internal.h - internals of uhyve-sec-assist, exposed for
 * tests/unit/test_assist_state.c. */
#ifndef UHS_ASSIST_INTERNAL_H
#define UHS_ASSIST_INTERNAL_H

#include <linux/kvm.h>
#include <stdint.h>

struct uc_struct;
/* Loads general-purpose registers, RFLAGS, FS/GS base, x87 and SSE state into Unicorn. */
int assist_state_to_uc(struct uc_struct *uc, const struct kvm_regs *r, const struct kvm_sregs *s,
		       const struct kvm_xsave *x);
/* Reads them back: `x` must hold the area that was loaded; bits 0 (x87) and 1 (SSE) of its
 * XSTATE_BV are set for the parts that changed, and *dirty tells whether anything did. */
int assist_state_from_uc(struct uc_struct *uc, struct kvm_regs *r, struct kvm_xsave *x,
			 uint32_t *dirty);

#endif
