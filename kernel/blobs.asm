; Binaries built separately and embedded in the kernel (Makefile builds them
; into build/ first): the low-memory blob, the SMM entry stub template, the
; SMM relocation handler, the SMM image, and the known-deviation list.
section .rodata
global lowmem_blob, lowmem_blob_end
global smm_stub_blob, smm_stub_blob_end
global smm_reloc_blob, smm_reloc_blob_end
global smm_image_blob, smm_image_blob_end
global deviations_cfg

align 16
lowmem_blob:    incbin "build/lowmem.bin"
lowmem_blob_end:
align 16
smm_stub_blob:  incbin "build/smm_stub.bin"
smm_stub_blob_end:
align 16
smm_reloc_blob: incbin "build/smm_reloc.bin"
smm_reloc_blob_end:
align 4096
smm_image_blob: incbin "build/smm.bin"
smm_image_blob_end:
deviations_cfg: incbin "tests/deviations.cfg"
                db 0
