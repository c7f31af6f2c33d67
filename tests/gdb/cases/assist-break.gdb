break gdbtest.c:48
break gdbtest.c:50
continue
print r
continue
print r
continue
print r
continue
print r
continue
