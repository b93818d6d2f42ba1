; peforge MBR boot code: bytes 0-439 of LBA 0 (the disk signature and partition table follow
; and are written by src/media/usb.rs).
;
; SPDX-License-Identifier: MIT
; Copyright (c) peforge contributors.
; Written for peforge from the specs cited in shared/specs/usb-boot.md (RBIL INT 13h AH=41h,
; 42h, 08h, 02h; UEFI 2.10 section 5.2.1). No code from other boot loaders.
;
; Steps: relocate to 0:0600, find the one active partition, read its first sector to 0:7C00
; (EDD packet on the stack below 0:7C00, CHS fallback), check 0xAA55 and jump there with
; DL = drive and DS:SI -> the partition entry. On failure print "MBR: ..." and INT 18h.
;
; Build: nasm -f bin -o mbr.bin mbr.asm   (-DNO_EDD: CHS only, for tests)

bits 16
org 0x0600

; Variables at 0:0500, addressed as [bp + x] with BP = 0x0500 (shorter than absolute).
vars    equ 0x0500
drive   equ 0x00                ; BIOS drive number (byte)
edd     equ 0x01                ; 1 = INT 13h extensions usable (byte)
spt     equ 0x02                ; sectors per track, 0 = unknown (word)
heads   equ 0x04                ; heads (word)
lba     equ 0x08                ; LBA being read (dword)
savesp  equ 0x0C                ; SP before the disk address packet (word)
entry   equ 0x0E                ; active partition entry (word)

start:
        cli
        xor ax, ax
        mov ss, ax
        mov sp, 0x7C00
        mov ds, ax
        mov es, ax
        sti
        cld
        mov si, 0x7C00
        mov di, 0x0600
        mov cx, 256
        rep movsw
        jmp 0:relocated

relocated:
        mov bp, vars
        mov [bp + drive], dl
        ; Exactly one entry flagged 0x80; flags other than 0x00/0x80 are a broken table.
        mov si, 0x07BE
        xor bx, bx
        mov cx, 4
.scan:  mov al, [si]
        test al, al
        jz .next
        cmp al, 0x80
        jne bad_table
        test bx, bx
        jnz bad_table
        mov bx, si
.next:  add si, 16
        loop .scan
        test bx, bx
        jz no_active
        mov [bp + entry], bx

        mov byte [bp + edd], 0
%ifndef NO_EDD
        mov ah, 0x41
        mov bx, 0x55AA
        mov dl, [bp + drive]
        int 0x13
        jc .no_edd
        cmp bx, 0xAA55
        jne .no_edd
        test cl, 1
        jz .no_edd
        mov byte [bp + edd], 1
.no_edd:
%endif
        ; Geometry for CHS: AH=08h (ES:DI may change, restore ES).
        mov word [bp + spt], 0
        mov ah, 0x08
        mov dl, [bp + drive]
        xor di, di
        push es
        int 0x13
        pop es
        jc .no_geo
        and cx, 0x3F
        jz .no_geo
        mov [bp + spt], cx
        movzx dx, dh
        inc dx
        mov [bp + heads], dx
.no_geo:

        mov si, [bp + entry]
        mov eax, [si + 8]
        mov [bp + lba], eax
        mov di, 3                       ; attempts
.try:
        cmp byte [bp + edd], 1
        jne .chs
        mov [bp + savesp], sp
        push dword 0                    ; LBA bits 32-63
        push dword [bp + lba]
        push word 0                     ; segment
        push word 0x7C00                ; offset
        push word 1                     ; sectors
        push word 0x0010                ; packet size
        mov si, sp
        mov ah, 0x42
        mov dl, [bp + drive]
        int 0x13
        mov sp, [bp + savesp]
        jnc .read
        jmp .retry
.chs:
        cmp word [bp + spt], 0
        jne .convert
        ; No geometry from the BIOS: the entry's own CHS start (bytes 1-3 = DH, CL, CH).
        mov si, [bp + entry]
        mov dh, [si + 1]
        mov cx, [si + 2]
        jmp .int13
.convert:
        mov eax, [bp + lba]
        xor edx, edx
        movzx ecx, word [bp + spt]
        div ecx
        inc dx
        mov bl, dl                      ; sector 1..63
        xor edx, edx
        movzx ecx, word [bp + heads]
        div ecx                         ; eax = cylinder, dx = head
        cmp eax, 1023
        ja read_error
        mov ch, al
        shl ah, 6
        or ah, bl
        mov cl, ah
        mov dh, dl
.int13:
        mov dl, [bp + drive]
        mov bx, 0x7C00
        mov ax, 0x0201
        int 0x13
        jnc .read
.retry:
        dec di
        jz read_error
        xor ax, ax
        mov dl, [bp + drive]
        int 0x13
        jmp .try
.read:
        cmp word [0x7DFE], 0xAA55
        jne no_signature
        mov si, [bp + entry]
        mov dl, [bp + drive]
        jmp 0:0x7C00

bad_table:
        mov si, msg_table
        jmp fail
no_active:
        mov si, msg_active
        jmp fail
no_signature:
        mov si, msg_sig
        jmp fail
read_error:
        mov si, msg_read
fail:
        push si
        mov si, msg_prefix
        call print
        pop si
        call print
        mov si, msg_crlf
        call print
        int 0x18                        ; let the BIOS try the next boot device
.halt:  hlt
        jmp .halt

print:
        lodsb
        test al, al
        jz .done
        mov ah, 0x0E
        mov bx, 0x0007
        int 0x10
        jmp print
.done:  ret

msg_prefix: db "MBR: ", 0
msg_table:  db "bad partition table", 0
msg_active: db "no active partition", 0
msg_sig:    db "no boot signature", 0
msg_read:   db "read error", 0
msg_crlf:   db 13, 10, 0

%if ($ - $$) > 440
%error "MBR code exceeds 440 bytes"
%endif
        times 440 - ($ - $$) db 0
