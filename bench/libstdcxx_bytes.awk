# Bytes of a binary that come from libstdc++ and libgcc, from its GNU ld link map: the input
# sections of the memory map (the discarded ones are listed before it) that end up in the file.
function hex(s,    i, c, v) {
  v = 0
  s = tolower(substr(s, 3))
  for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
  return v
}
/^Linker script and memory map/ { on = 1; next }
!on { next }
/^ \.[^ ]+$/ { pending = $1; next }  # a long section name; address, size and file follow
{
  if (pending != "" && $1 ~ /^0x/) { sec = pending; size = $2; file = $3 }
  else if ($1 ~ /^\./ && $2 ~ /^0x/ && $3 ~ /^0x/) { sec = $1; size = $3; file = $4 }
  else { pending = ""; next }
  pending = ""
  if (sec ~ /^\.(debug|comment|note|bss|tbss|stab|gnu_debug)/) next
  if (file ~ /libstdc\+\+\.a|libsupc\+\+\.a|libgcc\.a|libgcc_eh\.a/) total += hex(size)
}
END { print total + 0 }
