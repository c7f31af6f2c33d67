break add
continue
info symbol $pc
print $pc == add + 14
continue
