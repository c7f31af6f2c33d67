awatch counter
continue
delete
continue
