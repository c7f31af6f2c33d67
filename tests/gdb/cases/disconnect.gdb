break add
continue
shell kill -9 $PPID
