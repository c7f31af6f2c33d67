/* SPDX-License-Identifier: MIT */
/* start.S - entry point and ELF notes of the uhyve-sec test guests.
 *
 * Entry state (hermit-abi.md b.4): 64-bit mode, identity-mapped paging, interrupts off,
 * RDI = GPA of the boot info, RSI = vCPU index, RSP = bottom of a 32 KiB boot stack that ALL
 * vCPUs share.  We never use that stack: each vCPU switches to its own 16 KiB stack in .bss
 * before touching memory, so no serialisation between vCPUs is needed.
 */
#include "rt.h"

/* ---- notes: one SHF_ALLOC SHT_NOTE section -> one PT_NOTE (4-byte aligned) ---- */
	.section .note.hermit, "a", @note
	.balign 4
	/* Hermit entry version: name "HERMIT\0" (namesz 7, padded to 8), type 0x5a00, desc 4 */
	.long 7
	.long 1
	.long 0x5a00
	.asciz "HERMIT"
	.balign 4
	.byte 4
	.balign 4

#ifdef RT_UHYVEIF
	/* uhyve interface version: name "UHYVEIF\0" (namesz 8), type 0x5b00, desc u32 BE */
	.long 8
	.long 4
	.long 0x5b00
	.asciz "UHYVEIF"
	.byte (RT_UHYVEIF >> 24) & 0xff, (RT_UHYVEIF >> 16) & 0xff
	.byte (RT_UHYVEIF >> 8) & 0xff, RT_UHYVEIF & 0xff
#endif

#ifdef RT_GNU_MAJOR
	/* Hermit version: name "GNU\0", type 1 (NT_GNU_ABI_TAG), desc u32 LE [6, maj, min, pat] */
	.long 4
	.long 16
	.long 1
	.asciz "GNU"
	.long 6
	.long RT_GNU_MAJOR
	.long RT_GNU_MINOR
	.long RT_GNU_PATCH
#endif

/* ---- per-vCPU stacks ---- */
	.section .bss
	.balign 4096
	.globl rt_stacks
rt_stacks:
	.skip RT_MAX_CPUS * RT_STACK_SIZE

/* ---- entry ---- */
	.text
	.globl _start
	.type _start, @function
_start:
	cli
	cld
	cmpq $RT_MAX_CPUS, %rsi
	jae rt_park
	/* RSP = rt_stacks + (cpu + 1) * RT_STACK_SIZE, 16-byte aligned */
	leaq 1(%rsi), %rax
	imulq $RT_STACK_SIZE, %rax
	leaq rt_stacks(%rip), %rsp
	addq %rax, %rsp
	andq $-16, %rsp
	xorl %ebp, %ebp
	/* rt_main(boot_info = RDI, cpu = RSI); never returns */
	call rt_main
rt_park:
	cli
	hlt
	jmp rt_park
	.size _start, . - _start

	.section .note.GNU-stack, "", @progbits
