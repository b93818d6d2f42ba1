; Stand-in BOOTMGR for the BIOS boot tests (shared/specs/usb-boot.md section 8.1). A flat
; real-mode program entered at 2000:0000. It checks the hand-off peforge's boot code gives,
; prints one "name=value ok|BAD" line per check on COM1, then RESULT=PASS|FAIL, the boot
; sector at 0:7C00 as VBR=<1024 hex digits>, and exits QEMU through isa-debug-exit at 0xF4
; (0x10 pass -> exit status 33, 0x11 fail -> 35).
;
; The test builds the file around this code: u32 file size at offset 4, u32 expected hidden
; sectors at 8, dword k at the start of every sector k from 2 to the last but one,
; "TAILMARK" in the last 8 bytes and a fix-up word at size - 10 so that the 16-bit sum of
; all words is 0.
;
; SPDX-License-Identifier: MIT

bits 16
org 0

        jmp short entry
        nop
        db 0
file_size:  dd 0
hidden:     dd 0

entry:
        ; Save the hand-off state on the stack before touching memory (the variables below
        ; live in this image, which the checksum covers).
        push edx
        push ds
        push es
        push fs
        push gs
        push ss
        push cs
        ; SP at entry = SP now + 4 + 12.
        mov ax, sp
        add ax, 16
        push ax
        ; The 16-bit sum of every word of the file.
        mov ax, cs
        mov ds, ax
        mov ecx, [file_size]
        shr ecx, 1
        mov bx, 0x2000
        xor si, si
        xor dx, dx
.sum:   mov es, bx
        add dx, [es:si]
        add si, 2
        jnz .same
        add bx, 0x1000
.same:  dec ecx
        jnz .sum
        mov [sum], dx
        pop word [v_sp]
        pop word [v_cs]
        pop word [v_ss]
        pop word [v_gs]
        pop word [v_fs]
        pop word [v_es]
        pop word [v_ds]
        pop dword [v_edx]
        mov byte [failed], 0

        mov si, s_cs
        mov ax, [v_cs]
        cmp ax, 0x2000
        call check16
        mov si, s_edx
        mov eax, [v_edx]
        cmp eax, 0x80
        call check32
        mov si, s_ds
        mov ax, [v_ds]
        test ax, ax
        call check16
        mov si, s_es
        mov ax, [v_es]
        test ax, ax
        call check16
        mov si, s_fs
        mov ax, [v_fs]
        test ax, ax
        call check16
        mov si, s_gs
        mov ax, [v_gs]
        test ax, ax
        call check16
        mov si, s_ss
        mov ax, [v_ss]
        test ax, ax
        call check16
        mov si, s_sp
        mov ax, [v_sp]
        cmp ax, 0x7C00
        call check16

        xor ax, ax
        mov es, ax
        mov si, s_hidden
        mov eax, [es:0x7C1C]
        cmp eax, [hidden]
        call check32
        mov si, s_drvnum
        movzx ax, byte [es:0x7C40]
        cmp al, [v_edx]
        call check16
        mov si, s_fstype
        mov eax, [es:0x7C52]
        cmp eax, 'FAT3'
        jne .fst
        cmp dword [es:0x7C56], '2   '
.fst:   call check32
        mov si, s_sig
        mov ax, [es:0x7DFE]
        cmp ax, 0xAA55
        call check16

        ; A20: FFFF:0610 is 0:0600 when the address wraps.
        mov ax, 0xFFFF
        mov fs, ax
        mov byte [es:0x05F8], 0x00
        mov byte [fs:0x0608], 0xA5
        movzx ax, byte [es:0x05F8]
        mov si, s_a20
        cmp ax, 0
        call check16

        ; Dword k at the start of sector k, 2 .. last - 1.
        mov eax, [file_size]
        dec eax
        shr eax, 9                      ; index of the last sector
        mov [last], eax
        mov ecx, 2
        xor edx, edx                    ; first bad sector, 0 = none
.sect:  cmp ecx, [last]
        jae .sect_done
        mov eax, ecx
        shl eax, 5
        add eax, 0x2000
        mov es, ax
        cmp [es:0], ecx
        je .sect_ok
        test edx, edx
        jnz .sect_ok
        mov edx, ecx
.sect_ok:
        inc ecx
        jmp .sect
.sect_done:
        mov si, s_sectors
        mov eax, edx
        test eax, eax
        call check32

        ; TAILMARK in the last 8 bytes.
        mov eax, [file_size]
        sub eax, 8
        mov ebx, eax
        shr eax, 4
        add ax, 0x2000
        mov es, ax
        and bx, 0x0F
        mov eax, [es:bx]
        mov si, s_tail
        cmp eax, 'TAIL'
        jne .tl
        cmp dword [es:bx + 4], 'MARK'
.tl:    call check32

        mov si, s_sum
        mov ax, [sum]
        test ax, ax
        call check16

        mov si, s_result
        call puts
        mov si, s_pass
        cmp byte [failed], 0
        je .res
        mov si, s_fail
.res:   call puts
        mov si, s_vbr
        call puts
        xor ax, ax
        mov es, ax
        mov bx, 0x7C00
.dump:  mov al, [es:bx]
        call hex8
        inc bx
        cmp bx, 0x7E00
        jb .dump
        mov si, s_crlf
        call puts
        mov al, 0x10
        cmp byte [failed], 0
        je .exit
        mov al, 0x11
.exit:  out 0xF4, al
.halt:  hlt
        jmp .halt

; Name at SI, value in AX (check16) or EAX (check32), ZF = 1 when the check passed.
check16:
        pushf
        call puts
        call hex16
        jmp verdict
check32:
        pushf
        call puts
        push eax
        shr eax, 16
        call hex16
        pop eax
        call hex16
verdict:
        popf
        mov si, s_ok
        je .p
        mov si, s_bad
        mov byte [failed], 1
.p:     jmp puts

hex16:
        push ax
        mov al, ah
        call hex8
        pop ax
hex8:
        push ax
        shr al, 4
        call hex4
        pop ax
hex4:
        push ax
        and al, 0x0F
        add al, '0'
        cmp al, '9'
        jbe .d
        add al, 7
.d:     call putc
        pop ax
        ret

puts:
        push ax
.n:     lodsb
        test al, al
        jz .e
        call putc
        jmp .n
.e:     pop ax
        ret

putc:
        push dx
        push ax
        mov dx, 0x3FD
.w:     in al, dx
        test al, 0x20
        jz .w
        pop ax
        mov dx, 0x3F8
        out dx, al
        pop dx
        ret

s_cs:       db 13, 10, "CS=", 0
s_edx:      db "EDX=", 0
s_ds:       db "DS=", 0
s_es:       db "ES=", 0
s_fs:       db "FS=", 0
s_gs:       db "GS=", 0
s_ss:       db "SS=", 0
s_sp:       db "SP=", 0
s_hidden:   db "HIDDEN_SECTORS=", 0
s_drvnum:   db "BPB_DRVNUM=", 0
s_fstype:   db "FAT32_SIGNATURE=", 0
s_sig:      db "BOOT_SIGNATURE=", 0
s_a20:      db "A20_WRAP=", 0
s_sectors:  db "FIRST_BAD_SECTOR=", 0
s_tail:     db "TAIL=", 0
s_sum:      db "CHECKSUM=", 0
s_ok:       db " ok", 13, 10, 0
s_bad:      db " BAD", 13, 10, 0
s_result:   db "RESULT=", 0
s_pass:     db "PASS", 13, 10, 0
s_fail:     db "FAIL", 13, 10, 0
s_vbr:      db "VBR=", 0
s_crlf:     db 13, 10, 0

v_edx:  dd 0
v_ds:   dw 0
v_es:   dw 0
v_fs:   dw 0
v_gs:   dw 0
v_ss:   dw 0
v_cs:   dw 0
v_sp:   dw 0
sum:    dw 0
last:   dd 0
failed: db 0

%if ($ - $$) > 1024
%error "stand-in code must fit in sectors 0 and 1"
%endif
