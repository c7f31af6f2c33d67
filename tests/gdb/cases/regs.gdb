set breakpoint always-inserted on
break add
continue
shell grep -E "^(Seccomp|NoNewPrivs|CapEff):" /proc/$UHS_PID/status
x/2i $pc
print $cr0
print/x $cs
set $rcx = 77
print $rcx
set $cs = 0x10
print/x $cs
set var b = 5
print b
continue
