break scale_cents
continue
next
next
print r
next
next
print r
hbreak gdbtest.c:50
continue
print r
print $xmm0.v2_double[0]
watch scaled
continue
print scaled
delete
stepi
stepi
continue
