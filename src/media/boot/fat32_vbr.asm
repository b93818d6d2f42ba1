; peforge FAT32 volume boot code: sector 0 of the partition (stage 1 after the BPB) and
; sector 2 (stage 2). src/media/usb.rs keeps bytes 0x03-0x59 (OEM name, BPB) from the FAT
; writer and copies stage 1 into sectors 0 and 6 (the backup boot sector), stage 2 into
; sector 2.
;
; SPDX-License-Identifier: MIT
; Copyright (c) peforge contributors.
; Written for peforge from the specs cited in shared/specs/usb-boot.md (Microsoft fatgen103
; sections 3, 4, 6, 7; RBIL INT 13h AH=41h, 42h, 08h, 02h, INT 12h, INT 15h AX=2401h; the
; hand-off of GRUB's ntldr loader as described there). No code from other boot loaders.
;
; Stage 1 reads stage 2 (partition sector 2) to 0:7E00. Stage 2 walks the root directory for
; the 8.3 name BOOTMGR (skipping deleted, long-name, label and directory entries), loads the
; whole file at 2000:0000 one sector at a time following its cluster chain, turns A20 on and
; jumps to 2000:0000 with DL = drive, DS = ES = FS = GS = SS = 0, SP = 0x7C00, and this boot
; sector (DrvNum patched to DL) at 0:7C00. Failures print "VBR error X" and halt:
;   D disk read (followed by the INT 13h status), 2 stage 2 missing, M BOOTMGR missing,
;   S BOOTMGR too large for conventional memory, C cluster chain ends early, G sector size
;   not 512, A A20 cannot be enabled.
;
; Build: nasm -f bin -o fat32_vbr.bin fat32_vbr.asm   (-DNO_EDD: CHS only, for tests)

bits 16
org 0x7C00

; BPB fields (fatgen103 section 3) in the boot sector at 0:7C00.
BytsPerSec  equ 0x7C0B
SecPerClus  equ 0x7C0D
RsvdSecCnt  equ 0x7C0E
NumFATs     equ 0x7C10
SecPerTrk   equ 0x7C18
NumHeads    equ 0x7C1A
HiddSec     equ 0x7C1C
FATSz32     equ 0x7C24
ExtFlags    equ 0x7C28
RootClus    equ 0x7C2C
DrvNum      equ 0x7C40

; Variables at 0:0500, addressed as [bp + x] with BP = 0x0500.
vars        equ 0x0500
edd         equ 0x01                ; byte
spt         equ 0x02                ; word
heads       equ 0x04                ; word
lba         equ 0x08                ; dword, sector being read
savesp      equ 0x0C                ; word
fat_start   equ 0x10                ; dword, LBA of the FAT in use
data_start  equ 0x14                ; dword, LBA of cluster 2
fat_cached  equ 0x18                ; dword, LBA of the FAT sector in FATBUF
cur_clus    equ 0x1C                ; dword
cur_lba     equ 0x20                ; dword
remain      equ 0x24                ; dword, BOOTMGR sectors still to load
sec_left    equ 0x28                ; word, sectors left in this cluster
load_seg    equ 0x2A                ; word

STAGE2      equ 0x7E00
DIRBUF      equ 0x8000
FATBUF      equ 0x8200
LOAD_SEG    equ 0x2000
TAG         equ 0xB007

; ---------------------------------------------------------------- sector 0
        jmp short stage1
        nop
        times 0x5A - ($ - $$) db 0      ; OEM name and BPB: written by the FAT writer

stage1:
        cli
        xor ax, ax
        mov ss, ax
        mov sp, 0x7C00
        mov ds, ax
        mov es, ax
        sti
        cld
        mov bp, vars
        mov [DrvNum], dl
        mov byte [bp + edd], 0
%ifndef NO_EDD
        mov ah, 0x41
        mov bx, 0x55AA
        int 0x13
        jc .no_edd
        cmp bx, 0xAA55
        jne .no_edd
        test cl, 1
        jz .no_edd
        mov byte [bp + edd], 1
.no_edd:
%endif
        ; CHS geometry: the BIOS's (AH=08h), else the BPB's.
        mov ah, 0x08
        mov dl, [DrvNum]
        xor di, di
        push es
        int 0x13
        pop es
        jc .bpb_geo
        and cx, 0x3F
        jz .bpb_geo
        mov [bp + spt], cx
        movzx dx, dh
        inc dx
        mov [bp + heads], dx
        jmp .geo_done
.bpb_geo:
        mov ax, [SecPerTrk]
        mov [bp + spt], ax
        mov ax, [NumHeads]
        mov [bp + heads], ax
.geo_done:
        mov eax, [HiddSec]
        add eax, 2
        mov bx, STAGE2
        call read_sector
        cmp word [STAGE2 + 510], TAG
        mov al, '2'
        jne error
        jmp stage2

; Reads one sector: EAX = LBA (absolute), ES:BX = buffer. Three attempts with a reset in
; between; on failure "VBR error D" and the status. Preserves all registers but flags.
read_sector:
        pushad
        mov [bp + lba], eax
        mov di, 3
.try:
        cmp byte [bp + edd], 1
        jne .chs
        mov [bp + savesp], sp
        push dword 0
        push dword [bp + lba]
        push es
        push bx
        push word 1
        push word 0x0010
        mov si, sp
        mov ah, 0x42
        mov dl, [DrvNum]
        int 0x13
        mov sp, [bp + savesp]
        jnc .done
        jmp .retry
.chs:
        mov eax, [bp + lba]
        xor edx, edx
        movzx ecx, word [bp + spt]
        div ecx
        inc dx
        mov si, dx                      ; sector 1..63
        xor edx, edx
        movzx ecx, word [bp + heads]
        div ecx                         ; eax = cylinder, dx = head
        cmp eax, 1023
        ja .fail
        mov cx, si
        mov ch, al
        shl ah, 6
        or cl, ah
        mov dh, dl
        mov dl, [DrvNum]
        mov ax, 0x0201
        int 0x13
        jnc .done
.retry:
        dec di
        jz .fail
        xor ax, ax
        mov dl, [DrvNum]
        int 0x13
        jmp .try
.fail:
        push ax
        mov al, 'D'
        call print_error
        pop ax
        mov al, ah
        shr al, 4
        call hex_digit
        mov al, ah
        call hex_digit
        jmp halt
.done:
        popad
        ret

; "VBR error X" (X = AL), then halt.
error:
        call print_error
halt:
        hlt
        jmp halt

print_error:
        push ax
        mov si, msg_error
.next:  lodsb
        test al, al
        jz .last
        call putc
        jmp .next
.last:  pop ax
        jmp putc

hex_digit:
        and al, 0x0F
        add al, '0'
        cmp al, '9'
        jbe putc
        add al, 7
putc:
        pusha
        mov ah, 0x0E
        mov bx, 0x0007
        int 0x10
        popa
        ret

msg_error: db 13, 10, "VBR error ", 0

%if ($ - $$) > 510
%error "VBR stage 1 exceeds sector 0"
%endif
        times 510 - ($ - $$) db 0
        dw 0xAA55

; ---------------------------------------------------------------- sector 2 (at 0:7E00)
stage2:
        cmp word [BytsPerSec], 512
        mov al, 'G'
        jne error
        ; FAT start = HiddSec + RsvdSecCnt; data start = FAT start + NumFATs * FATSz32.
        movzx eax, word [RsvdSecCnt]
        add eax, [HiddSec]
        mov [bp + fat_start], eax
        mov [bp + data_start], eax
        movzx ecx, byte [NumFATs]
        mov eax, [FATSz32]
        mul ecx
        add [bp + data_start], eax
        ; ExtFlags bit 7: mirroring off, only FAT number bits 0-3 is valid.
        movzx eax, byte [ExtFlags]
        test al, 0x80
        jz .mirrored
        and al, 0x0F
        mul dword [FATSz32]
        add [bp + fat_start], eax
.mirrored:
        or dword [bp + fat_cached], -1
        or dword [bp + remain], -1      ; marks the directory walk for cluster_start

        ; Root directory: follow its chain, one sector at a time.
        mov eax, [RootClus]
.dir_cluster:
        call cluster_start
.dir_sector:
        mov eax, [bp + cur_lba]
        mov bx, DIRBUF
        call read_sector
        mov si, bx
.entry:
        mov al, [si]
        test al, al
        jz missing                      ; end of directory
        cmp al, 0xE5
        je .skip                        ; deleted
        mov al, [si + 11]
        and al, 0x3F
        cmp al, 0x0F
        je .skip                        ; long-name slot
        test al, 0x18
        jnz .skip                       ; volume label or directory
        push si
        mov di, name
        mov cx, 11
        repe cmpsb
        pop si
        je found
.skip:
        add si, 32
        cmp si, DIRBUF + 512
        jb .entry
        call next_sector
        jnz .dir_sector
        call next_cluster
        jmp .dir_cluster

found:
        mov ecx, [si + 0x1C]            ; DIR_FileSize
        jecxz missing
        mov eax, ecx
        shr ecx, 9
        test ax, 0x01FF
        jz .whole
        inc ecx
.whole: mov [bp + remain], ecx
        ; Room from 0x20000 to the top of conventional memory (INT 12h, KiB).
        int 0x12
        movzx eax, ax
        shl eax, 1
        sub eax, 0x100
        cmp ecx, eax
        mov al, 'S'
        ja error
        mov ax, [si + 0x14]             ; DIR_FstClusHI
        shl eax, 16
        mov ax, [si + 0x1A]             ; DIR_FstClusLO
        mov word [bp + load_seg], LOAD_SEG
.load_cluster:
        call cluster_start
.load_sector:
        mov eax, [bp + cur_lba]
        mov es, [bp + load_seg]
        xor bx, bx
        call read_sector
        xor bx, bx
        mov es, bx
        add word [bp + load_seg], 0x20  ; 512 bytes on: files over 64 KiB
        dec dword [bp + remain]
        jz boot
        call next_sector
        jnz .load_sector
        call next_cluster
        jmp .load_cluster

missing:
        mov al, 'M'
        jmp error

; EAX = cluster: check it, make it current; cur_lba = its first sector, sec_left = SecPerClus.
cluster_start:
        cmp eax, 2
        jb .bad
        cmp eax, 0x0FFFFFF7
        jae .bad
        mov [bp + cur_clus], eax
        sub eax, 2
        movzx ecx, byte [SecPerClus]
        mov [bp + sec_left], cx
        mul ecx
        add eax, [bp + data_start]
        mov [bp + cur_lba], eax
        ret
.bad:   cmp word [bp + remain + 2], 0xFFFF  ; walking the root directory: end = not found
        je missing
        mov al, 'C'
        jmp error

; Advance within the cluster: ZF = 1 when the cluster is done.
next_sector:
        inc dword [bp + cur_lba]
        dec word [bp + sec_left]
        ret

; EAX = FAT entry of cur_clus (masked to 28 bits); one FAT sector cached at FATBUF (ES = 0).
next_cluster:
        mov eax, [bp + cur_clus]
        movzx edi, al
        and di, 0x7F
        shl di, 2
        shr eax, 7
        add eax, [bp + fat_start]
        cmp eax, [bp + fat_cached]
        je .cached
        mov [bp + fat_cached], eax
        mov bx, FATBUF
        call read_sector
.cached:
        mov eax, [FATBUF + di]
        and eax, 0x0FFFFFFF
        ret

boot:
        ; A20: FFFF:0600 is 0:05F0 when the address wraps.
        call a20_on
        jnz .on
        mov ax, 0x2401
        int 0x15
        call a20_on
        jnz .on
        in al, 0x92
        or al, 2
        and al, 0xFE
        out 0x92, al
        call a20_on
        mov al, 'A'
        jz error
.on:
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        cli
        mov ss, ax
        mov sp, 0x7C00
        sti
        movzx edx, byte [DrvNum]
        jmp LOAD_SEG:0

; ZF = 0 when A20 is on. Uses FS.
a20_on:
        push ax
        mov ax, 0xFFFF
        mov fs, ax
        mov byte [0x05F0], 0
        mov byte [fs:0x0600], 0xFF
        cmp byte [0x05F0], 0xFF
        pop ax
        ret

name:   db "BOOTMGR    "

%if ($ - stage2) > 510
%error "VBR stage 2 exceeds one sector"
%endif
        times 510 - ($ - stage2) db 0
        dw TAG
