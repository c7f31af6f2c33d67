break add
continue
info threads
thread 2
print cpu
thread 1
continue
