break gdbtest.c:76
continue
step
print a + b
bt 2
next
next
step
print counter
continue
