;; tscolab's own WebAssembly SIMD kernels. They import tfjs-backend-wasm's
;; memory and work on tensors in place of where tfjs keeps them (byte
;; offsets), so nothing is copied in or out.
;;
;; Rebuild after editing (wabt):  node dist/engine/backend/kernels/simd/regenerate.js
;; which runs `wat2wasm --enable-simd` and rewrites simd_bytes.ts.
;;
;; Every f32x4 op is IEEE binary32 (no fused multiply-add, correctly rounded
;; div and sqrt), so results equal tfjs's own op-by-op float32 results.
(module
  (import "env" "memory" (memory 1))

  ;; One Adam/AdamW step over n floats (see adam_update.ts for the formula).
  ;; flags bit 0: add the L2 term g += w*l2; bit 1: decoupled decay w *= decay.
  (func (export "adam")
    (param $w i32) (param $g i32) (param $m i32) (param $v i32)
    (param $ow i32) (param $om i32) (param $ov i32) (param $n i32)
    (param $b1 f32) (param $omb1 f32) (param $b2 f32) (param $omb2 f32)
    (param $bc1 f32) (param $bc2 f32) (param $lr f32) (param $eps f32)
    (param $l2 f32) (param $decay f32) (param $flags i32)
    (local $i i32) (local $end i32) (local $end4 i32)
    (local $xb1 v128) (local $xomb1 v128) (local $xb2 v128) (local $xomb2 v128)
    (local $xbc1 v128) (local $xbc2 v128) (local $xlr v128) (local $xeps v128)
    (local $xl2 v128) (local $xdecay v128)
    (local $wv v128) (local $gv v128) (local $mv v128) (local $vv v128) (local $u v128)
    (local $ws f32) (local $gs f32) (local $ms f32) (local $vs f32) (local $us f32)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $end4 (i32.and (local.get $end) (i32.const -16)))
    (local.set $xb1 (f32x4.splat (local.get $b1)))
    (local.set $xomb1 (f32x4.splat (local.get $omb1)))
    (local.set $xb2 (f32x4.splat (local.get $b2)))
    (local.set $xomb2 (f32x4.splat (local.get $omb2)))
    (local.set $xbc1 (f32x4.splat (local.get $bc1)))
    (local.set $xbc2 (f32x4.splat (local.get $bc2)))
    (local.set $xlr (f32x4.splat (local.get $lr)))
    (local.set $xeps (f32x4.splat (local.get $eps)))
    (local.set $xl2 (f32x4.splat (local.get $l2)))
    (local.set $xdecay (f32x4.splat (local.get $decay)))
    (block $done4
      (loop $loop4
        (br_if $done4 (i32.ge_u (local.get $i) (local.get $end4)))
        (local.set $wv (v128.load align=4 (i32.add (local.get $w) (local.get $i))))
        (local.set $gv (v128.load align=4 (i32.add (local.get $g) (local.get $i))))
        (if (i32.and (local.get $flags) (i32.const 1))
          (then (local.set $gv (f32x4.add (local.get $gv) (f32x4.mul (local.get $wv) (local.get $xl2))))))
        (local.set $mv
          (f32x4.add
            (f32x4.mul (v128.load align=4 (i32.add (local.get $m) (local.get $i))) (local.get $xb1))
            (f32x4.mul (local.get $gv) (local.get $xomb1))))
        (local.set $vv
          (f32x4.add
            (f32x4.mul (v128.load align=4 (i32.add (local.get $v) (local.get $i))) (local.get $xb2))
            (f32x4.mul (f32x4.mul (local.get $gv) (local.get $gv)) (local.get $xomb2))))
        (local.set $u
          (f32x4.div
            (f32x4.mul (f32x4.div (local.get $mv) (local.get $xbc1)) (local.get $xlr))
            (f32x4.add (f32x4.sqrt (f32x4.div (local.get $vv) (local.get $xbc2))) (local.get $xeps))))
        (if (i32.and (local.get $flags) (i32.const 2))
          (then (local.set $wv (f32x4.mul (local.get $wv) (local.get $xdecay)))))
        (v128.store align=4 (i32.add (local.get $ow) (local.get $i)) (f32x4.sub (local.get $wv) (local.get $u)))
        (v128.store align=4 (i32.add (local.get $om) (local.get $i)) (local.get $mv))
        (v128.store align=4 (i32.add (local.get $ov) (local.get $i)) (local.get $vv))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $loop4)))
    ;; The last n mod 4 floats, same arithmetic in scalar f32.
    (block $done
      (loop $loop
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $ws (f32.load (i32.add (local.get $w) (local.get $i))))
        (local.set $gs (f32.load (i32.add (local.get $g) (local.get $i))))
        (if (i32.and (local.get $flags) (i32.const 1))
          (then (local.set $gs (f32.add (local.get $gs) (f32.mul (local.get $ws) (local.get $l2))))))
        (local.set $ms
          (f32.add
            (f32.mul (f32.load (i32.add (local.get $m) (local.get $i))) (local.get $b1))
            (f32.mul (local.get $gs) (local.get $omb1))))
        (local.set $vs
          (f32.add
            (f32.mul (f32.load (i32.add (local.get $v) (local.get $i))) (local.get $b2))
            (f32.mul (f32.mul (local.get $gs) (local.get $gs)) (local.get $omb2))))
        (local.set $us
          (f32.div
            (f32.mul (f32.div (local.get $ms) (local.get $bc1)) (local.get $lr))
            (f32.add (f32.sqrt (f32.div (local.get $vs) (local.get $bc2))) (local.get $eps))))
        (if (i32.and (local.get $flags) (i32.const 2))
          (then (local.set $ws (f32.mul (local.get $ws) (local.get $decay)))))
        (f32.store (i32.add (local.get $ow) (local.get $i)) (f32.sub (local.get $ws) (local.get $us)))
        (f32.store (i32.add (local.get $om) (local.get $i)) (local.get $ms))
        (f32.store (i32.add (local.get $ov) (local.get $i)) (local.get $vs))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $loop)))
  )

  ;; out[c, r] = in[r, c] for a rows×cols float matrix, in 4×4 blocks
  ;; (four 16-byte loads, a register transpose, four 16-byte stores), so both
  ;; sides stream whole cache lines; the ragged edges go scalar.
  (func (export "transpose2d")
    (param $in i32) (param $out i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $c i32) (local $r4 i32) (local $c4 i32)
    (local $inRow i32) (local $outRow i32) (local $p i32) (local $q i32)
    (local $a v128) (local $b v128) (local $x v128) (local $y v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $inRow (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $outRow (i32.shl (local.get $rows) (i32.const 2)))
    (local.set $r4 (i32.and (local.get $rows) (i32.const -4)))
    (local.set $c4 (i32.and (local.get $cols) (i32.const -4)))
    ;; full 4x4 blocks
    (local.set $r (i32.const 0))
    (block $rdone
      (loop $rloop
        (br_if $rdone (i32.ge_u (local.get $r) (local.get $r4)))
        (local.set $c (i32.const 0))
        (block $cdone
          (loop $cloop
            (br_if $cdone (i32.ge_u (local.get $c) (local.get $c4)))
            (local.set $p (i32.add (local.get $in)
              (i32.shl (i32.add (i32.mul (local.get $r) (local.get $cols)) (local.get $c)) (i32.const 2))))
            (local.set $a (v128.load align=4 (local.get $p)))
            (local.set $b (v128.load align=4 (i32.add (local.get $p) (local.get $inRow))))
            (local.set $x (v128.load align=4 (i32.add (local.get $p) (i32.shl (local.get $inRow) (i32.const 1)))))
            (local.set $y (v128.load align=4 (i32.add (local.get $p) (i32.mul (local.get $inRow) (i32.const 3)))))
            ;; t0 = a0 b0 a1 b1, t1 = a2 b2 a3 b3, t2 = x0 y0 x1 y1, t3 = x2 y2 x3 y3
            (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a) (local.get $b)))
            (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a) (local.get $b)))
            (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $x) (local.get $y)))
            (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $x) (local.get $y)))
            (local.set $q (i32.add (local.get $out)
              (i32.shl (i32.add (i32.mul (local.get $c) (local.get $rows)) (local.get $r)) (i32.const 2))))
            ;; column j of the block = a_j b_j x_j y_j
            (v128.store align=4 (local.get $q)
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
            (v128.store align=4 (i32.add (local.get $q) (local.get $outRow))
              (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
            (v128.store align=4 (i32.add (local.get $q) (i32.shl (local.get $outRow) (i32.const 1)))
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
            (v128.store align=4 (i32.add (local.get $q) (i32.mul (local.get $outRow) (i32.const 3)))
              (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br $cloop)))
        ;; ragged right edge of these 4 rows
        (block $edone
          (loop $eloop
            (br_if $edone (i32.ge_u (local.get $c) (local.get $cols)))
            (call $copy4rows (local.get $in) (local.get $out) (local.get $rows) (local.get $cols) (local.get $r) (local.get $c))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $eloop)))
        (local.set $r (i32.add (local.get $r) (i32.const 4)))
        (br $rloop)))
    ;; ragged bottom rows
    (block $bdone
      (loop $bloop
        (br_if $bdone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $c (i32.const 0))
        (block $bcdone
          (loop $bcloop
            (br_if $bcdone (i32.ge_u (local.get $c) (local.get $cols)))
            (f32.store
              (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (local.get $c) (local.get $rows)) (local.get $r)) (i32.const 2)))
              (f32.load (i32.add (local.get $in) (i32.shl (i32.add (i32.mul (local.get $r) (local.get $cols)) (local.get $c)) (i32.const 2)))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $bcloop)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $bloop)))
  )

  ;; out[c, r..r+3] = in[r..r+3, c]
  (func $copy4rows (param $in i32) (param $out i32) (param $rows i32) (param $cols i32) (param $r i32) (param $c i32)
    (local $k i32)
    (block $done
      (loop $loop
        (br_if $done (i32.ge_u (local.get $k) (i32.const 4)))
        (f32.store
          (i32.add (local.get $out)
            (i32.shl (i32.add (i32.mul (local.get $c) (local.get $rows)) (i32.add (local.get $r) (local.get $k))) (i32.const 2)))
          (f32.load (i32.add (local.get $in)
            (i32.shl (i32.add (i32.mul (i32.add (local.get $r) (local.get $k)) (local.get $cols)) (local.get $c)) (i32.const 2)))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $loop)))
  )

  ;; im2col: out[(b,oy,ox), (fy,fx,c)] = x[b, oy*sh-pt+fy, ox*sw-pl+fx, c] (NHWC),
  ;; 0 where the window hangs over the padding. One memory.copy of inC floats
  ;; per window tap.
  (func (export "im2col")
    (param $x i32) (param $out i32) (param $batch i32) (param $inH i32) (param $inW i32) (param $inC i32)
    (param $outH i32) (param $outW i32) (param $fh i32) (param $fw i32) (param $sh i32) (param $sw i32)
    (param $pt i32) (param $pl i32)
    (local $b i32) (local $oy i32) (local $ox i32) (local $fy i32) (local $fx i32)
    (local $iy i32) (local $ix i32) (local $dst i32) (local $bytes i32) (local $rowBase i32) (local $src i32) (local $k i32)
    (local.set $bytes (i32.shl (local.get $inC) (i32.const 2)))
    (local.set $dst (local.get $out))
    (loop $lb
      (local.set $oy (i32.const 0))
      (loop $loy
        (local.set $ox (i32.const 0))
        (loop $lox
          (local.set $fy (i32.const 0))
          (loop $lfy
            (local.set $iy (i32.add (i32.sub (i32.mul (local.get $oy) (local.get $sh)) (local.get $pt)) (local.get $fy)))
            (local.set $rowBase (i32.mul (i32.add (i32.mul (local.get $b) (local.get $inH)) (local.get $iy)) (local.get $inW)))
            (local.set $fx (i32.const 0))
            (loop $lfx
              (local.set $ix (i32.add (i32.sub (i32.mul (local.get $ox) (local.get $sw)) (local.get $pl)) (local.get $fx)))
              ;; unsigned compares also reject negative coordinates
              ;; one channel (a grayscale first layer): a plain load/store beats memory.copy's call
              (if (i32.eq (local.get $bytes) (i32.const 4))
                (then
                  ;; (an if, not a select: outside the image the address must not be read)
                  (if (i32.and (i32.lt_u (local.get $iy) (local.get $inH)) (i32.lt_u (local.get $ix) (local.get $inW)))
                    (then
                      (f32.store (local.get $dst)
                        (f32.load (i32.add (local.get $x) (i32.shl (i32.add (local.get $rowBase) (local.get $ix)) (i32.const 2))))))
                    (else (f32.store (local.get $dst) (f32.const 0)))))
                (else
                  (if (i32.and (i32.lt_u (local.get $iy) (local.get $inH)) (i32.lt_u (local.get $ix) (local.get $inW)))
                    (then
                      (local.set $src (i32.add (local.get $x) (i32.mul (i32.add (local.get $rowBase) (local.get $ix)) (local.get $bytes))))
                      ;; whole vectors of channels: inline vector copies beat memory.copy's call on 32-128 bytes
                      (if (i32.and (local.get $bytes) (i32.const 15))
                        (then (memory.copy (local.get $dst) (local.get $src) (local.get $bytes)))
                        (else
                          (local.set $k (i32.const 0))
                          (loop $lk
                            (v128.store align=4 (i32.add (local.get $dst) (local.get $k)) (v128.load align=4 (i32.add (local.get $src) (local.get $k))))
                            (br_if $lk (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 16))) (local.get $bytes)))))))
                    (else (memory.fill (local.get $dst) (i32.const 0) (local.get $bytes))))))
              (local.set $dst (i32.add (local.get $dst) (local.get $bytes)))
              (br_if $lfx (i32.lt_u (local.tee $fx (i32.add (local.get $fx) (i32.const 1))) (local.get $fw))))
            (br_if $lfy (i32.lt_u (local.tee $fy (i32.add (local.get $fy) (i32.const 1))) (local.get $fh))))
          (br_if $lox (i32.lt_u (local.tee $ox (i32.add (local.get $ox) (i32.const 1))) (local.get $outW))))
        (br_if $loy (i32.lt_u (local.tee $oy (i32.add (local.get $oy) (i32.const 1))) (local.get $outH))))
      (br_if $lb (i32.lt_u (local.tee $b (i32.add (local.get $b) (i32.const 1))) (local.get $batch))))
  )

;; The transposed patch matrix [fh·fw·inC, batch·outH·outW] from NHWC x (zeros over the
  ;; padding): row (fy,fx,c) holds that tap of every window. With one channel and stride 1 each
  ;; (b,oy) run of a row is a contiguous run of an image row, copied a vector at a time, where
  ;; im2col's layout would write one float per tap.
  (func (export "im2colTransposed")
    (param $x i32) (param $out i32) (param $batch i32) (param $inH i32) (param $inW i32) (param $inC i32)
    (param $outH i32) (param $outW i32) (param $fh i32) (param $fw i32) (param $sh i32) (param $sw i32)
    (param $pt i32) (param $pl i32)
    (local $fy i32) (local $fx i32) (local $c i32) (local $b i32) (local $oy i32) (local $iy i32)
    (local $oxLo i32) (local $oxHi i32) (local $dst i32) (local $src i32) (local $end i32) (local $end4 i32)
    (local $step i32) (local $first i32)
    (local.set $dst (local.get $out))
    (local.set $step (i32.shl (i32.mul (local.get $sw) (local.get $inC)) (i32.const 2)))
    (local.set $fy (i32.const 0))
    (block $fydone (loop $lfy
      (br_if $fydone (i32.ge_s (local.get $fy) (local.get $fh)))
      (local.set $fx (i32.const 0))
      (block $fxdone (loop $lfx
        (br_if $fxdone (i32.ge_s (local.get $fx) (local.get $fw)))
        ;; output columns whose tap column lies inside the image: ox·sw − pl + fx in [0, inW)
        (local.set $oxLo (i32.const 0))
        (block $lodone (loop $llo
          (br_if $lodone (i32.ge_s (local.get $oxLo) (local.get $outW)))
          (br_if $lodone (i32.ge_s (i32.add (i32.sub (i32.mul (local.get $oxLo) (local.get $sw)) (local.get $pl)) (local.get $fx)) (i32.const 0)))
          (local.set $oxLo (i32.add (local.get $oxLo) (i32.const 1)))
          (br $llo)))
        (local.set $oxHi (local.get $oxLo))
        (block $hidone (loop $lhi
          (br_if $hidone (i32.ge_s (local.get $oxHi) (local.get $outW)))
          (br_if $hidone (i32.ge_s (i32.add (i32.sub (i32.mul (local.get $oxHi) (local.get $sw)) (local.get $pl)) (local.get $fx)) (local.get $inW)))
          (local.set $oxHi (i32.add (local.get $oxHi) (i32.const 1)))
          (br $lhi)))
        (local.set $c (i32.const 0))
        (block $cdone (loop $lc
          (br_if $cdone (i32.ge_s (local.get $c) (local.get $inC)))
          (local.set $b (i32.const 0))
          (block $bdone (loop $lb
            (br_if $bdone (i32.ge_s (local.get $b) (local.get $batch)))
            (local.set $oy (i32.const 0))
            (block $oydone (loop $loy
              (br_if $oydone (i32.ge_s (local.get $oy) (local.get $outH)))
              (local.set $iy (i32.add (i32.sub (i32.mul (local.get $oy) (local.get $sh)) (local.get $pt)) (local.get $fy)))
              (if (i32.or (i32.ge_u (local.get $iy) (local.get $inH)) (i32.ge_s (local.get $oxLo) (local.get $oxHi)))
                (then (memory.fill (local.get $dst) (i32.const 0) (i32.shl (local.get $outW) (i32.const 2))))
                (else
                  (memory.fill (local.get $dst) (i32.const 0) (i32.shl (local.get $oxLo) (i32.const 2)))
                  ;; first tap of the run: x[b, iy, oxLo·sw − pl + fx, c]
                  (local.set $first (i32.add (i32.sub (i32.mul (local.get $oxLo) (local.get $sw)) (local.get $pl)) (local.get $fx)))
                  (local.set $src (i32.add (local.get $x)
                    (i32.shl (i32.add (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $inH)) (local.get $iy)) (local.get $inW)) (local.get $first)) (local.get $inC)) (local.get $c)) (i32.const 2))))
                  (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $oxHi) (i32.const 2))))
                  (local.set $dst (i32.add (local.get $dst) (i32.shl (local.get $oxLo) (i32.const 2))))
                  (if (i32.eq (local.get $step) (i32.const 4))
                    (then
                      (local.set $end4 (i32.sub (local.get $end) (i32.const 12)))
                      (block $vdone (loop $lv
                        (br_if $vdone (i32.ge_s (local.get $dst) (local.get $end4)))
                        (v128.store align=4 (local.get $dst) (v128.load align=4 (local.get $src)))
                        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
                        (local.set $src (i32.add (local.get $src) (i32.const 16)))
                        (br $lv)))))
                  (block $sdone (loop $ls
                    (br_if $sdone (i32.ge_s (local.get $dst) (local.get $end)))
                    (f32.store (local.get $dst) (f32.load (local.get $src)))
                    (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
                    (local.set $src (i32.add (local.get $src) (local.get $step)))
                    (br $ls)))
                  (memory.fill (local.get $dst) (i32.const 0) (i32.shl (i32.sub (local.get $outW) (local.get $oxHi)) (i32.const 2)))
                  (local.set $dst (i32.sub (local.get $dst) (i32.shl (local.get $oxHi) (i32.const 2))))))
              (local.set $dst (i32.add (local.get $dst) (i32.shl (local.get $outW) (i32.const 2))))
              (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
              (br $loy)))
            (local.set $b (i32.add (local.get $b) (i32.const 1)))
            (br $lb)))
          (local.set $c (i32.add (local.get $c) (i32.const 1)))
          (br $lc)))
        (local.set $fx (i32.add (local.get $fx) (i32.const 1)))
        (br $lfx)))
      (local.set $fy (i32.add (local.get $fy) (i32.const 1)))
      (br $lfy)))
  )

  ;; col2im, the adjoint of im2col: dx = 0, then dx[b, iy, ix, c] += cols[(b,oy,ox), (fy,fx,c)]
  ;; for every in-image tap, in the same (b,oy,ox,fy,fx) order as the JS version.
  (func (export "col2im")
    (param $cols i32) (param $dx i32) (param $batch i32) (param $inH i32) (param $inW i32) (param $inC i32)
    (param $outH i32) (param $outW i32) (param $fh i32) (param $fw i32) (param $sh i32) (param $sw i32)
    (param $pt i32) (param $pl i32)
    (local $b i32) (local $oy i32) (local $ox i32) (local $fy i32) (local $fx i32)
    (local $iy i32) (local $ix i32) (local $src i32) (local $bytes i32) (local $rowBase i32)
    (local $d i32) (local $k i32) (local $end4 i32)
    (local.set $bytes (i32.shl (local.get $inC) (i32.const 2)))
    (local.set $end4 (i32.and (local.get $bytes) (i32.const -16)))
    (memory.fill (local.get $dx) (i32.const 0)
      (i32.mul (i32.mul (i32.mul (local.get $batch) (local.get $inH)) (local.get $inW)) (local.get $bytes)))
    (local.set $src (local.get $cols))
    (loop $lb
      (local.set $oy (i32.const 0))
      (loop $loy
        (local.set $ox (i32.const 0))
        (loop $lox
          (local.set $fy (i32.const 0))
          (loop $lfy
            (local.set $iy (i32.add (i32.sub (i32.mul (local.get $oy) (local.get $sh)) (local.get $pt)) (local.get $fy)))
            (local.set $rowBase (i32.mul (i32.add (i32.mul (local.get $b) (local.get $inH)) (local.get $iy)) (local.get $inW)))
            (local.set $fx (i32.const 0))
            (loop $lfx
              (local.set $ix (i32.add (i32.sub (i32.mul (local.get $ox) (local.get $sw)) (local.get $pl)) (local.get $fx)))
              (if (i32.and (i32.lt_u (local.get $iy) (local.get $inH)) (i32.lt_u (local.get $ix) (local.get $inW)))
                (then
                  (local.set $d (i32.add (local.get $dx) (i32.mul (i32.add (local.get $rowBase) (local.get $ix)) (local.get $bytes))))
                  (local.set $k (i32.const 0))
                  (block $v4done
                    (loop $v4
                      (br_if $v4done (i32.ge_u (local.get $k) (local.get $end4)))
                      (v128.store align=4 (i32.add (local.get $d) (local.get $k))
                        (f32x4.add
                          (v128.load align=4 (i32.add (local.get $d) (local.get $k)))
                          (v128.load align=4 (i32.add (local.get $src) (local.get $k)))))
                      (local.set $k (i32.add (local.get $k) (i32.const 16)))
                      (br $v4)))
                  (block $sdone
                    (loop $s
                      (br_if $sdone (i32.ge_u (local.get $k) (local.get $bytes)))
                      (f32.store (i32.add (local.get $d) (local.get $k))
                        (f32.add
                          (f32.load (i32.add (local.get $d) (local.get $k)))
                          (f32.load (i32.add (local.get $src) (local.get $k)))))
                      (local.set $k (i32.add (local.get $k) (i32.const 4)))
                      (br $s)))))
              (local.set $src (i32.add (local.get $src) (local.get $bytes)))
              (br_if $lfx (i32.lt_u (local.tee $fx (i32.add (local.get $fx) (i32.const 1))) (local.get $fw))))
            (br_if $lfy (i32.lt_u (local.tee $fy (i32.add (local.get $fy) (i32.const 1))) (local.get $fh))))
          (br_if $lox (i32.lt_u (local.tee $ox (i32.add (local.get $ox) (i32.const 1))) (local.get $outW))))
        (br_if $loy (i32.lt_u (local.tee $oy (i32.add (local.get $oy) (i32.const 1))) (local.get $outH))))
      (br_if $lb (i32.lt_u (local.tee $b (i32.add (local.get $b) (i32.const 1))) (local.get $batch))))
  )

  ;; MaxPoolGrad (NHWC): dx = 0, then each output's dy goes to the FIRST
  ;; maximum of its window (row-major scan, strictly greater, like tfjs's cpu
  ;; kernel); windows of only NaN/-inf get none. Four channels at a time.
  (func (export "maxPoolGrad")
    (param $x i32) (param $dy i32) (param $dx i32) (param $batch i32) (param $inH i32) (param $inW i32) (param $c i32)
    (param $outH i32) (param $outW i32) (param $fh i32) (param $fw i32) (param $sh i32) (param $sw i32)
    (param $pt i32) (param $pl i32)
    (local $b i32) (local $oy i32) (local $ox i32) (local $iy i32) (local $ix i32)
    (local $y0 i32) (local $x0 i32) (local $yLo i32) (local $yHi i32) (local $xLo i32) (local $xHi i32)
    (local $ch i32) (local $c4 i32) (local $o i32) (local $p i32) (local $k i32) (local $j i32)
    (local $best v128) (local $idx v128) (local $val v128) (local $mask v128)
    (local $bs f32) (local $is i32) (local $vs f32)
    (local.set $c4 (i32.and (local.get $c) (i32.const -4)))
    (memory.fill (local.get $dx) (i32.const 0)
      (i32.shl (i32.mul (i32.mul (i32.mul (local.get $batch) (local.get $inH)) (local.get $inW)) (local.get $c)) (i32.const 2)))
    (local.set $b (i32.const 0))
    (block $bdone (loop $lb
      (br_if $bdone (i32.ge_u (local.get $b) (local.get $batch)))
      (local.set $oy (i32.const 0))
      (block $oydone (loop $loy
        (br_if $oydone (i32.ge_u (local.get $oy) (local.get $outH)))
        (local.set $y0 (i32.sub (i32.mul (local.get $oy) (local.get $sh)) (local.get $pt)))
        (local.set $yLo (select (local.get $y0) (i32.const 0) (i32.gt_s (local.get $y0) (i32.const 0))))
        (local.set $yHi (i32.add (local.get $y0) (local.get $fh)))
        (local.set $yHi (select (local.get $inH) (local.get $yHi) (i32.gt_s (local.get $yHi) (local.get $inH))))
        (local.set $ox (i32.const 0))
        (block $oxdone (loop $lox
          (br_if $oxdone (i32.ge_u (local.get $ox) (local.get $outW)))
          (local.set $x0 (i32.sub (i32.mul (local.get $ox) (local.get $sw)) (local.get $pl)))
          (local.set $xLo (select (local.get $x0) (i32.const 0) (i32.gt_s (local.get $x0) (i32.const 0))))
          (local.set $xHi (i32.add (local.get $x0) (local.get $fw)))
          (local.set $xHi (select (local.get $inW) (local.get $xHi) (i32.gt_s (local.get $xHi) (local.get $inW))))
          ;; o = element index of dy[b, oy, ox, 0]
          (local.set $o (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $outH)) (local.get $oy)) (local.get $outW)) (local.get $ox)) (local.get $c)))
          ;; channels in fours
          (local.set $ch (i32.const 0))
          (block $c4done (loop $lc4
            (br_if $c4done (i32.ge_u (local.get $ch) (local.get $c4)))
            (local.set $best (f32x4.splat (f32.const -inf)))
            (local.set $idx (i32x4.splat (i32.const -1)))
            (local.set $iy (local.get $yLo))
            (block $wydone (loop $lwy
              (br_if $wydone (i32.ge_s (local.get $iy) (local.get $yHi)))
              (local.set $ix (local.get $xLo))
              (block $wxdone (loop $lwx
                (br_if $wxdone (i32.ge_s (local.get $ix) (local.get $xHi)))
                (local.set $p (i32.add (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $inH)) (local.get $iy)) (local.get $inW)) (local.get $ix)) (local.get $c)) (local.get $ch)))
                (local.set $val (v128.load align=4 (i32.add (local.get $x) (i32.shl (local.get $p) (i32.const 2)))))
                (local.set $mask (f32x4.gt (local.get $val) (local.get $best)))
                (local.set $best (v128.bitselect (local.get $val) (local.get $best) (local.get $mask)))
                (local.set $idx (v128.bitselect
                  (i32x4.add (i32x4.splat (local.get $p)) (v128.const i32x4 0 1 2 3))
                  (local.get $idx) (local.get $mask)))
                (local.set $ix (i32.add (local.get $ix) (i32.const 1)))
                (br $lwx)))
              (local.set $iy (i32.add (local.get $iy) (i32.const 1)))
              (br $lwy)))
            ;; scatter the four lanes
            (call $scatter (local.get $dx) (local.get $dy) (i32x4.extract_lane 0 (local.get $idx)) (i32.add (local.get $o) (local.get $ch)))
            (call $scatter (local.get $dx) (local.get $dy) (i32x4.extract_lane 1 (local.get $idx)) (i32.add (local.get $o) (i32.add (local.get $ch) (i32.const 1))))
            (call $scatter (local.get $dx) (local.get $dy) (i32x4.extract_lane 2 (local.get $idx)) (i32.add (local.get $o) (i32.add (local.get $ch) (i32.const 2))))
            (call $scatter (local.get $dx) (local.get $dy) (i32x4.extract_lane 3 (local.get $idx)) (i32.add (local.get $o) (i32.add (local.get $ch) (i32.const 3))))
            (local.set $ch (i32.add (local.get $ch) (i32.const 4)))
            (br $lc4)))
          ;; leftover channels, one at a time
          (block $c1done (loop $lc1
            (br_if $c1done (i32.ge_u (local.get $ch) (local.get $c)))
            (local.set $bs (f32.const -inf))
            (local.set $is (i32.const -1))
            (local.set $iy (local.get $yLo))
            (block $sydone (loop $lsy
              (br_if $sydone (i32.ge_s (local.get $iy) (local.get $yHi)))
              (local.set $ix (local.get $xLo))
              (block $sxdone (loop $lsx
                (br_if $sxdone (i32.ge_s (local.get $ix) (local.get $xHi)))
                (local.set $p (i32.add (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $inH)) (local.get $iy)) (local.get $inW)) (local.get $ix)) (local.get $c)) (local.get $ch)))
                (local.set $vs (f32.load (i32.add (local.get $x) (i32.shl (local.get $p) (i32.const 2)))))
                (if (f32.gt (local.get $vs) (local.get $bs))
                  (then (local.set $bs (local.get $vs)) (local.set $is (local.get $p))))
                (local.set $ix (i32.add (local.get $ix) (i32.const 1)))
                (br $lsx)))
              (local.set $iy (i32.add (local.get $iy) (i32.const 1)))
              (br $lsy)))
            (call $scatter (local.get $dx) (local.get $dy) (local.get $is) (i32.add (local.get $o) (local.get $ch)))
            (local.set $ch (i32.add (local.get $ch) (i32.const 1)))
            (br $lc1)))
          (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
          (br $lox)))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br $loy)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $lb)))
  )

  ;; dx[at] += dy[from] unless at is -1 (element indices)
  (func $scatter (param $dx i32) (param $dy i32) (param $at i32) (param $from i32)
    (local $addr i32)
    (if (i32.ge_s (local.get $at) (i32.const 0))
      (then
        (local.set $addr (i32.add (local.get $dx) (i32.shl (local.get $at) (i32.const 2))))
        (f32.store (local.get $addr)
          (f32.add (f32.load (local.get $addr))
                   (f32.load (i32.add (local.get $dy) (i32.shl (local.get $from) (i32.const 2)))))))))

  ;; out[c] = Σ_r in[r, c] over a rows×cols matrix, r ascending, four columns
  ;; per vector. The bias gradient of every conv layer is this.
  (func (export "sumRows") (param $in i32) (param $out i32) (param $rows i32) (param $cols i32)
    ;; Row by row into the output (a few KiB, cache-resident), so the input streams through
    ;; memory once; each output still adds its inputs in row order.
    (local $c i32) (local $r i32) (local $c4 i32) (local $p i32) (local $o i32) (local $colBytes i32)
    (local.set $colBytes (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $c4 (i32.shl (i32.and (local.get $cols) (i32.const -4)) (i32.const 2)))
    (memory.fill (local.get $out) (i32.const 0) (local.get $colBytes))
    (local.set $p (local.get $in))
    (block $rdone (loop $lr
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $c (i32.const 0))
      (block $vdone (loop $lv
        (br_if $vdone (i32.ge_u (local.get $c) (local.get $c4)))
        (local.set $o (i32.add (local.get $out) (local.get $c)))
        (v128.store align=4 (local.get $o)
          (f32x4.add (v128.load align=4 (local.get $o)) (v128.load align=4 (i32.add (local.get $p) (local.get $c)))))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br $lv)))
      (block $sdone (loop $ls
        (br_if $sdone (i32.ge_u (local.get $c) (local.get $colBytes)))
        (local.set $o (i32.add (local.get $out) (local.get $c)))
        (f32.store (local.get $o) (f32.add (f32.load (local.get $o)) (f32.load (i32.add (local.get $p) (local.get $c)))))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $ls)))
      (local.set $p (i32.add (local.get $p) (local.get $colBytes)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $lr)))
  )

  (func (export "reluGrad") (param $dy i32) (param $x i32) (param $out i32) (param $n i32)
    ;; out = dy · step(x), step(x) = 1 where x > 0, 0 where x <= 0 and NaN where x is NaN: the
    ;; product tfjs's relu gradient computes with two kernels and a cast, in one pass.
    (local $i i32) (local $end4 i32) (local $end i32) (local $xv v128) (local $step v128) (local $xs f32) (local $ss f32)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $end4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $vdone (loop $lv
      (br_if $vdone (i32.ge_u (local.get $i) (local.get $end4)))
      (local.set $xv (v128.load align=4 (i32.add (local.get $x) (local.get $i))))
      (local.set $step (v128.bitselect (v128.const f32x4 1 1 1 1) (v128.const f32x4 0 0 0 0) (f32x4.gt (local.get $xv) (v128.const f32x4 0 0 0 0))))
      (local.set $step (v128.bitselect (local.get $xv) (local.get $step) (f32x4.ne (local.get $xv) (local.get $xv))))
      (v128.store align=4 (i32.add (local.get $out) (local.get $i))
        (f32x4.mul (v128.load align=4 (i32.add (local.get $dy) (local.get $i))) (local.get $step)))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $lv)))
    (block $sdone (loop $ls
      (br_if $sdone (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $xs (f32.load (i32.add (local.get $x) (local.get $i))))
      (local.set $ss (select (f32.const 1) (f32.const 0) (f32.gt (local.get $xs) (f32.const 0))))
      (local.set $ss (select (local.get $xs) (local.get $ss) (f32.ne (local.get $xs) (local.get $xs))))
      (f32.store (i32.add (local.get $out) (local.get $i)) (f32.mul (f32.load (i32.add (local.get $dy) (local.get $i))) (local.get $ss)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $ls)))
  )

  (func (export "reluGradSumRows") (param $dy i32) (param $x i32) (param $out i32) (param $sums i32) (param $rows i32) (param $cols i32)
    ;; out = dy · step(x) as reluGrad computes it, and sums[c] = Σ_r out[r,c] as sumRows adds it (from 0,
    ;; rows in order), in the same pass: a layer's ReLU gradient and its bias gradient without reading
    ;; the masked gradient back. cols is a multiple of 4.
    (local $r i32) (local $c i32) (local $colBytes i32) (local $xv v128) (local $step v128) (local $g v128) (local $o i32)
    (local.set $colBytes (i32.shl (local.get $cols) (i32.const 2)))
    (memory.fill (local.get $sums) (i32.const 0) (local.get $colBytes))
    (block $rdone (loop $lr
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $c (i32.const 0))
      (block $cdone (loop $lc
        (br_if $cdone (i32.ge_u (local.get $c) (local.get $colBytes)))
        (local.set $xv (v128.load align=4 (i32.add (local.get $x) (local.get $c))))
        (local.set $step (v128.bitselect (v128.const f32x4 1 1 1 1) (v128.const f32x4 0 0 0 0) (f32x4.gt (local.get $xv) (v128.const f32x4 0 0 0 0))))
        (local.set $step (v128.bitselect (local.get $xv) (local.get $step) (f32x4.ne (local.get $xv) (local.get $xv))))
        (local.set $g (f32x4.mul (v128.load align=4 (i32.add (local.get $dy) (local.get $c))) (local.get $step)))
        (v128.store align=4 (i32.add (local.get $out) (local.get $c)) (local.get $g))
        (local.set $o (i32.add (local.get $sums) (local.get $c)))
        (v128.store align=4 (local.get $o) (f32x4.add (v128.load align=4 (local.get $o)) (local.get $g)))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br $lc)))
      (local.set $dy (i32.add (local.get $dy) (local.get $colBytes)))
      (local.set $x (i32.add (local.get $x) (local.get $colBytes)))
      (local.set $out (i32.add (local.get $out) (local.get $colBytes)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $lr)))
  )

  (func (export "addRows") (param $x i32) (param $bias i32) (param $out i32) (param $rows i32) (param $cols i32)
    ;; out[r, c] = x[r, c] + bias[c]: a layer's bias added to every row, the bias staying in cache.
    (local $r i32) (local $c i32) (local $c4 i32) (local $colBytes i32)
    (local.set $colBytes (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $c4 (i32.shl (i32.and (local.get $cols) (i32.const -4)) (i32.const 2)))
    (block $rdone (loop $lr
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $c (i32.const 0))
      (block $vdone (loop $lv
        (br_if $vdone (i32.ge_u (local.get $c) (local.get $c4)))
        (v128.store align=4 (i32.add (local.get $out) (local.get $c))
          (f32x4.add (v128.load align=4 (i32.add (local.get $x) (local.get $c))) (v128.load align=4 (i32.add (local.get $bias) (local.get $c)))))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br $lv)))
      (block $sdone (loop $ls
        (br_if $sdone (i32.ge_u (local.get $c) (local.get $colBytes)))
        (f32.store (i32.add (local.get $out) (local.get $c))
          (f32.add (f32.load (i32.add (local.get $x) (local.get $c))) (f32.load (i32.add (local.get $bias) (local.get $c)))))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $ls)))
      (local.set $x (i32.add (local.get $x) (local.get $colBytes)))
      (local.set $out (i32.add (local.get $out) (local.get $colBytes)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $lr)))
  )

  ;; maxPoolGrad for windows that tile the input (strides equal to the window, no padding): each
  ;; input element lies in at most one window, so instead of zero-filling dx and scattering, every
  ;; covered element is written once, 0 + dy at its window's first maximum and 0 elsewhere (the
  ;; same bits as the scatter). Rows and columns no window covers are zeroed by a fill first.
  (func (export "maxPoolGradTiles")
    (param $x i32) (param $dy i32) (param $dx i32) (param $batch i32) (param $inH i32) (param $inW i32) (param $c i32)
    (param $outH i32) (param $outW i32) (param $fh i32) (param $fw i32)
    (local $b i32) (local $oy i32) (local $ox i32) (local $iy i32) (local $ix i32) (local $ch i32) (local $c4 i32)
    (local $o i32) (local $p i32) (local $best v128) (local $idx v128) (local $val v128) (local $mask v128) (local $dyv v128)
    (local $bs f32) (local $is i32) (local $vs f32) (local $ds f32)
    (local.set $c4 (i32.and (local.get $c) (i32.const -4)))
    (if (i32.or (i32.lt_s (i32.mul (local.get $outH) (local.get $fh)) (local.get $inH)) (i32.lt_s (i32.mul (local.get $outW) (local.get $fw)) (local.get $inW)))
      (then (memory.fill (local.get $dx) (i32.const 0)
        (i32.shl (i32.mul (i32.mul (i32.mul (local.get $batch) (local.get $inH)) (local.get $inW)) (local.get $c)) (i32.const 2)))))
    (if (i32.and (i32.and (i32.eq (local.get $fh) (i32.const 2)) (i32.eq (local.get $fw) (i32.const 2))) (i32.eqz (i32.and (local.get $c) (i32.const 3))))
      (then
        (call $maxPoolGrad2x2 (local.get $x) (local.get $dy) (local.get $dx) (local.get $batch) (local.get $inH) (local.get $inW) (local.get $c) (local.get $outH) (local.get $outW))
        (return)))
    (local.set $b (i32.const 0))
    (block $bdone (loop $lb
      (br_if $bdone (i32.ge_u (local.get $b) (local.get $batch)))
      (local.set $oy (i32.const 0))
      (block $oydone (loop $loy
        (br_if $oydone (i32.ge_u (local.get $oy) (local.get $outH)))
        (local.set $ox (i32.const 0))
        (block $oxdone (loop $lox
          (br_if $oxdone (i32.ge_u (local.get $ox) (local.get $outW)))
          (local.set $o (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $outH)) (local.get $oy)) (local.get $outW)) (local.get $ox)) (local.get $c)))
          (local.set $ch (i32.const 0))
          (block $c4done (loop $lc4
            (br_if $c4done (i32.ge_u (local.get $ch) (local.get $c4)))
            ;; the first maximum of the window, per lane (element indices; -1 when none, e.g. all NaN)
            (local.set $best (f32x4.splat (f32.const -inf)))
            (local.set $idx (i32x4.splat (i32.const -1)))
            (local.set $iy (i32.mul (local.get $oy) (local.get $fh)))
            (block $wydone (loop $lwy
              (br_if $wydone (i32.ge_s (local.get $iy) (i32.mul (i32.add (local.get $oy) (i32.const 1)) (local.get $fh))))
              (local.set $ix (i32.mul (local.get $ox) (local.get $fw)))
              (block $wxdone (loop $lwx
                (br_if $wxdone (i32.ge_s (local.get $ix) (i32.mul (i32.add (local.get $ox) (i32.const 1)) (local.get $fw))))
                (local.set $p (i32.add (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $inH)) (local.get $iy)) (local.get $inW)) (local.get $ix)) (local.get $c)) (local.get $ch)))
                (local.set $val (v128.load align=4 (i32.add (local.get $x) (i32.shl (local.get $p) (i32.const 2)))))
                (local.set $mask (f32x4.gt (local.get $val) (local.get $best)))
                (local.set $best (v128.bitselect (local.get $val) (local.get $best) (local.get $mask)))
                (local.set $idx (v128.bitselect (i32x4.add (i32x4.splat (local.get $p)) (v128.const i32x4 0 1 2 3)) (local.get $idx) (local.get $mask)))
                (local.set $ix (i32.add (local.get $ix) (i32.const 1)))
                (br $lwx)))
              (local.set $iy (i32.add (local.get $iy) (i32.const 1)))
              (br $lwy)))
            ;; write the window once: 0 + dy where the maximum is, 0 elsewhere
            (local.set $dyv (f32x4.add (v128.const f32x4 0 0 0 0) (v128.load align=4 (i32.add (local.get $dy) (i32.shl (i32.add (local.get $o) (local.get $ch)) (i32.const 2))))))
            (local.set $iy (i32.mul (local.get $oy) (local.get $fh)))
            (block $wydone2 (loop $lwy2
              (br_if $wydone2 (i32.ge_s (local.get $iy) (i32.mul (i32.add (local.get $oy) (i32.const 1)) (local.get $fh))))
              (local.set $ix (i32.mul (local.get $ox) (local.get $fw)))
              (block $wxdone2 (loop $lwx2
                (br_if $wxdone2 (i32.ge_s (local.get $ix) (i32.mul (i32.add (local.get $ox) (i32.const 1)) (local.get $fw))))
                (local.set $p (i32.add (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $inH)) (local.get $iy)) (local.get $inW)) (local.get $ix)) (local.get $c)) (local.get $ch)))
                (v128.store align=4 (i32.add (local.get $dx) (i32.shl (local.get $p) (i32.const 2)))
                  (v128.and (local.get $dyv) (i32x4.eq (local.get $idx) (i32x4.add (i32x4.splat (local.get $p)) (v128.const i32x4 0 1 2 3)))))
                (local.set $ix (i32.add (local.get $ix) (i32.const 1)))
                (br $lwx2)))
              (local.set $iy (i32.add (local.get $iy) (i32.const 1)))
              (br $lwy2)))
            (local.set $ch (i32.add (local.get $ch) (i32.const 4)))
            (br $lc4)))
          ;; the channels past the last four, one at a time
          (block $cdone (loop $lc
            (br_if $cdone (i32.ge_u (local.get $ch) (local.get $c)))
            (local.set $bs (f32.const -inf))
            (local.set $is (i32.const -1))
            (local.set $iy (i32.mul (local.get $oy) (local.get $fh)))
            (block $sydone (loop $lsy
              (br_if $sydone (i32.ge_s (local.get $iy) (i32.mul (i32.add (local.get $oy) (i32.const 1)) (local.get $fh))))
              (local.set $ix (i32.mul (local.get $ox) (local.get $fw)))
              (block $sxdone (loop $lsx
                (br_if $sxdone (i32.ge_s (local.get $ix) (i32.mul (i32.add (local.get $ox) (i32.const 1)) (local.get $fw))))
                (local.set $p (i32.add (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $inH)) (local.get $iy)) (local.get $inW)) (local.get $ix)) (local.get $c)) (local.get $ch)))
                (local.set $vs (f32.load (i32.add (local.get $x) (i32.shl (local.get $p) (i32.const 2)))))
                (if (f32.gt (local.get $vs) (local.get $bs)) (then (local.set $bs (local.get $vs)) (local.set $is (local.get $p))))
                (local.set $ix (i32.add (local.get $ix) (i32.const 1)))
                (br $lsx)))
              (local.set $iy (i32.add (local.get $iy) (i32.const 1)))
              (br $lsy)))
            (local.set $ds (f32.add (f32.const 0) (f32.load (i32.add (local.get $dy) (i32.shl (i32.add (local.get $o) (local.get $ch)) (i32.const 2))))))
            (local.set $iy (i32.mul (local.get $oy) (local.get $fh)))
            (block $sydone2 (loop $lsy2
              (br_if $sydone2 (i32.ge_s (local.get $iy) (i32.mul (i32.add (local.get $oy) (i32.const 1)) (local.get $fh))))
              (local.set $ix (i32.mul (local.get $ox) (local.get $fw)))
              (block $sxdone2 (loop $lsx2
                (br_if $sxdone2 (i32.ge_s (local.get $ix) (i32.mul (i32.add (local.get $ox) (i32.const 1)) (local.get $fw))))
                (local.set $p (i32.add (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $inH)) (local.get $iy)) (local.get $inW)) (local.get $ix)) (local.get $c)) (local.get $ch)))
                (f32.store (i32.add (local.get $dx) (i32.shl (local.get $p) (i32.const 2)))
                  (select (local.get $ds) (f32.const 0) (i32.eq (local.get $p) (local.get $is))))
                (local.set $ix (i32.add (local.get $ix) (i32.const 1)))
                (br $lsx2)))
              (local.set $iy (i32.add (local.get $iy) (i32.const 1)))
              (br $lsy2)))
            (local.set $ch (i32.add (local.get $ch) (i32.const 1)))
            (br $lc)))
          (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
          (br $lox)))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br $loy)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $lb)))
  )

;; Max pooling over 2×2 windows at stride 2 (no padding) for whole vectors of channels: each
  ;; window's first strict maximum from -inf in row-major order, as the gradient above routes it,
  ;; so NaN never wins and a window of NaN alone gives -inf (tfjs's cpu kernel does the same).
  (func (export "maxPool2x2")
    (param $x i32) (param $y i32) (param $batch i32) (param $inH i32) (param $inW i32) (param $c i32)
    (param $outH i32) (param $outW i32)
    (local $b i32) (local $oy i32) (local $ox i32) (local $ch i32) (local $cBytes i32) (local $rowBytes i32)
    (local $x0 i32) (local $best v128) (local $v v128)
    (local.set $cBytes (i32.shl (local.get $c) (i32.const 2)))
    (local.set $rowBytes (i32.mul (local.get $inW) (local.get $cBytes)))
    (block $bdone (loop $lb
      (br_if $bdone (i32.ge_u (local.get $b) (local.get $batch)))
      (local.set $oy (i32.const 0))
      (block $oydone (loop $loy
        (br_if $oydone (i32.ge_u (local.get $oy) (local.get $outH)))
        (local.set $x0 (i32.add (local.get $x)
          (i32.mul (i32.add (i32.mul (local.get $b) (local.get $inH)) (i32.shl (local.get $oy) (i32.const 1))) (local.get $rowBytes))))
        (local.set $ox (i32.const 0))
        (block $oxdone (loop $lox
          (br_if $oxdone (i32.ge_u (local.get $ox) (local.get $outW)))
          (local.set $ch (i32.const 0))
          (block $cdone (loop $lc
            (br_if $cdone (i32.ge_u (local.get $ch) (local.get $cBytes)))
            (local.set $best (v128.const f32x4 -inf -inf -inf -inf))
            (local.set $v (v128.load align=4 (i32.add (local.get $x0) (local.get $ch))))
            (local.set $best (v128.bitselect (local.get $v) (local.get $best) (f32x4.gt (local.get $v) (local.get $best))))
            (local.set $v (v128.load align=4 (i32.add (i32.add (local.get $x0) (local.get $cBytes)) (local.get $ch))))
            (local.set $best (v128.bitselect (local.get $v) (local.get $best) (f32x4.gt (local.get $v) (local.get $best))))
            (local.set $v (v128.load align=4 (i32.add (i32.add (local.get $x0) (local.get $rowBytes)) (local.get $ch))))
            (local.set $best (v128.bitselect (local.get $v) (local.get $best) (f32x4.gt (local.get $v) (local.get $best))))
            (local.set $v (v128.load align=4 (i32.add (i32.add (i32.add (local.get $x0) (local.get $rowBytes)) (local.get $cBytes)) (local.get $ch))))
            (local.set $best (v128.bitselect (local.get $v) (local.get $best) (f32x4.gt (local.get $v) (local.get $best))))
            (v128.store align=4 (i32.add (local.get $y) (local.get $ch)) (local.get $best))
            (local.set $ch (i32.add (local.get $ch) (i32.const 16)))
            (br $lc)))
          (local.set $y (i32.add (local.get $y) (local.get $cBytes)))
          (local.set $x0 (i32.add (local.get $x0) (i32.shl (local.get $cBytes) (i32.const 1))))
          (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
          (br $lox)))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br $loy)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $lb)))
  )

  ;; maxPoolGradTiles for 2×2 windows and whole vectors of channels (the common CNN pool): the
  ;; four window elements are compared in row-major order with the same strict > from -inf, so
  ;; the first maximum wins as in the general loop, and pointers step through the rows instead of
  ;; recomputing each element's index. Rows and columns no window covers were zeroed by the caller.
  (func $maxPoolGrad2x2
    (param $x i32) (param $dy i32) (param $dx i32) (param $batch i32) (param $inH i32) (param $inW i32) (param $c i32)
    (param $outH i32) (param $outW i32)
    (local $b i32) (local $oy i32) (local $ox i32) (local $ch i32) (local $cBytes i32) (local $rowBytes i32)
    (local $x0 i32) (local $dx0 i32) (local $d i32) (local $o0 i32) (local $o1 i32) (local $o2 i32) (local $o3 i32)
    (local $a v128) (local $bv v128) (local $cv v128) (local $dv v128) (local $best v128) (local $g v128)
    (local $m0 v128) (local $m1 v128) (local $m2 v128) (local $m3 v128)
    (local.set $cBytes (i32.shl (local.get $c) (i32.const 2)))
    (local.set $rowBytes (i32.mul (local.get $inW) (local.get $cBytes)))
    (local.set $d (local.get $dy))
    (block $bdone (loop $lb
      (br_if $bdone (i32.ge_u (local.get $b) (local.get $batch)))
      (local.set $oy (i32.const 0))
      (block $oydone (loop $loy
        (br_if $oydone (i32.ge_u (local.get $oy) (local.get $outH)))
        ;; byte offset of the window row pair's first element within x and dx
        (local.set $o0 (i32.mul (i32.add (i32.mul (local.get $b) (local.get $inH)) (i32.shl (local.get $oy) (i32.const 1))) (local.get $rowBytes)))
        (local.set $x0 (i32.add (local.get $x) (local.get $o0)))
        (local.set $dx0 (i32.add (local.get $dx) (local.get $o0)))
        (local.set $ox (i32.const 0))
        (block $oxdone (loop $lox
          (br_if $oxdone (i32.ge_u (local.get $ox) (local.get $outW)))
          (local.set $ch (i32.const 0))
          (block $cdone (loop $lc
            (br_if $cdone (i32.ge_u (local.get $ch) (local.get $cBytes)))
            (local.set $o0 (local.get $ch))
            (local.set $o1 (i32.add (local.get $ch) (local.get $cBytes)))
            (local.set $o2 (i32.add (local.get $ch) (local.get $rowBytes)))
            (local.set $o3 (i32.add (local.get $o2) (local.get $cBytes)))
            (local.set $a (v128.load align=4 (i32.add (local.get $x0) (local.get $o0))))
            (local.set $bv (v128.load align=4 (i32.add (local.get $x0) (local.get $o1))))
            (local.set $cv (v128.load align=4 (i32.add (local.get $x0) (local.get $o2))))
            (local.set $dv (v128.load align=4 (i32.add (local.get $x0) (local.get $o3))))
            (local.set $m0 (f32x4.gt (local.get $a) (v128.const f32x4 -inf -inf -inf -inf)))
            (local.set $best (v128.bitselect (local.get $a) (v128.const f32x4 -inf -inf -inf -inf) (local.get $m0)))
            (local.set $m1 (f32x4.gt (local.get $bv) (local.get $best)))
            (local.set $best (v128.bitselect (local.get $bv) (local.get $best) (local.get $m1)))
            (local.set $m2 (f32x4.gt (local.get $cv) (local.get $best)))
            (local.set $best (v128.bitselect (local.get $cv) (local.get $best) (local.get $m2)))
            (local.set $m3 (f32x4.gt (local.get $dv) (local.get $best)))
            ;; a later winner clears the earlier ones: the last lane mask set is the first maximum
            (local.set $m2 (v128.andnot (local.get $m2) (local.get $m3)))
            (local.set $m1 (v128.andnot (v128.andnot (local.get $m1) (local.get $m3)) (local.get $m2)))
            (local.set $m0 (v128.andnot (v128.andnot (v128.andnot (local.get $m0) (local.get $m3)) (local.get $m2)) (local.get $m1)))
            (local.set $g (f32x4.add (v128.const f32x4 0 0 0 0) (v128.load align=4 (i32.add (local.get $d) (local.get $ch)))))
            (v128.store align=4 (i32.add (local.get $dx0) (local.get $o0)) (v128.and (local.get $g) (local.get $m0)))
            (v128.store align=4 (i32.add (local.get $dx0) (local.get $o1)) (v128.and (local.get $g) (local.get $m1)))
            (v128.store align=4 (i32.add (local.get $dx0) (local.get $o2)) (v128.and (local.get $g) (local.get $m2)))
            (v128.store align=4 (i32.add (local.get $dx0) (local.get $o3)) (v128.and (local.get $g) (local.get $m3)))
            (local.set $ch (i32.add (local.get $ch) (i32.const 16)))
            (br $lc)))
          (local.set $d (i32.add (local.get $d) (local.get $cBytes)))
          (local.set $x0 (i32.add (local.get $x0) (i32.shl (local.get $cBytes) (i32.const 1))))
          (local.set $dx0 (i32.add (local.get $dx0) (i32.shl (local.get $cBytes) (i32.const 1))))
          (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
          (br $lox)))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br $loy)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $lb)))
  )

  ;; out = 0, then out[ids[i]] += x[i] (rows of `inner` floats), i ascending, ids outside
  ;; [0, numSegments) dropped: the gradient of an embedding lookup.
  (func (export "segmentSum") (param $x i32) (param $ids i32) (param $out i32) (param $n i32) (param $inner i32) (param $numSegments i32)
    (local $i i32) (local $id i32) (local $k i32) (local $k4 i32) (local $rowBytes i32) (local $src i32) (local $dst i32)
    (local.set $rowBytes (i32.shl (local.get $inner) (i32.const 2)))
    (local.set $k4 (i32.shl (i32.and (local.get $inner) (i32.const -4)) (i32.const 2)))
    (memory.fill (local.get $out) (i32.const 0) (i32.mul (local.get $numSegments) (local.get $rowBytes)))
    (block $done (loop $li
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $id (i32.load (i32.add (local.get $ids) (i32.shl (local.get $i) (i32.const 2)))))
      (if (i32.and (i32.ge_s (local.get $id) (i32.const 0)) (i32.lt_s (local.get $id) (local.get $numSegments)))
        (then
          (local.set $src (i32.add (local.get $x) (i32.mul (local.get $i) (local.get $rowBytes))))
          (local.set $dst (i32.add (local.get $out) (i32.mul (local.get $id) (local.get $rowBytes))))
          (local.set $k (i32.const 0))
          (block $vdone (loop $lv
            (br_if $vdone (i32.ge_u (local.get $k) (local.get $k4)))
            (v128.store align=4 (i32.add (local.get $dst) (local.get $k))
              (f32x4.add (v128.load align=4 (i32.add (local.get $dst) (local.get $k))) (v128.load align=4 (i32.add (local.get $src) (local.get $k)))))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br $lv)))
          (block $sdone (loop $ls
            (br_if $sdone (i32.ge_u (local.get $k) (local.get $rowBytes)))
            (f32.store (i32.add (local.get $dst) (local.get $k))
              (f32.add (f32.load (i32.add (local.get $dst) (local.get $k))) (f32.load (i32.add (local.get $src) (local.get $k)))))
            (local.set $k (i32.add (local.get $k) (i32.const 4)))
            (br $ls)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $li)))
  )

  ;; Σ of a row of n floats at $p: four lane sums over the vector part (lane = index mod 4), added
  ;; lane 0..3, then the tail in order. The order depends on indices only, never on the address.
  (func $rowSum (param $p i32) (param $n i32) (result f32)
    (local $acc v128) (local $i i32) (local $n4 i32) (local $s f32)
    (local.set $n4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $acc (v128.const f32x4 0 0 0 0))
    (block $vdone (loop $lv
      (br_if $vdone (i32.ge_u (local.get $i) (local.get $n4)))
      (local.set $acc (f32x4.add (local.get $acc) (v128.load align=4 (i32.add (local.get $p) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $lv)))
    (local.set $s (f32.add (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
                           (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
    (block $sdone (loop $ls
      (br_if $sdone (i32.ge_u (local.get $i) (i32.shl (local.get $n) (i32.const 2))))
      (local.set $s (f32.add (local.get $s) (f32.load (i32.add (local.get $p) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $ls)))
    (local.get $s)
  )

  ;; Σ (x - mean)² of a row, in $rowSum's order.
  (func $rowSquares (param $p i32) (param $n i32) (param $mean f32) (result f32)
    (local $acc v128) (local $i i32) (local $n4 i32) (local $s f32) (local $m v128) (local $v v128) (local $e f32)
    (local.set $n4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $acc (v128.const f32x4 0 0 0 0))
    (local.set $m (f32x4.splat (local.get $mean)))
    (block $vdone (loop $lv
      (br_if $vdone (i32.ge_u (local.get $i) (local.get $n4)))
      (local.set $v (f32x4.sub (v128.load align=4 (i32.add (local.get $p) (local.get $i))) (local.get $m)))
      (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $v) (local.get $v))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $lv)))
    (local.set $s (f32.add (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
                           (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
    (block $sdone (loop $ls
      (br_if $sdone (i32.ge_u (local.get $i) (i32.shl (local.get $n) (i32.const 2))))
      (local.set $e (f32.sub (f32.load (i32.add (local.get $p) (local.get $i))) (local.get $mean)))
      (local.set $s (f32.add (local.get $s) (f32.mul (local.get $e) (local.get $e))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $ls)))
    (local.get $s)
  )

  ;; Layer normalization over the last axis of x [rows, d]:
  ;;   y = (x - mean)·r·γ + β,  r = 1/√(Σ(x - mean)²/d + ε)
  (func (export "layerNorm") (param $x i32) (param $gamma i32) (param $beta i32) (param $out i32) (param $rows i32) (param $d i32) (param $eps f32)
    (local $row i32) (local $i i32) (local $d4 i32) (local $rowBytes i32) (local $mean f32) (local $r f32)
    (local $mv v128) (local $rv v128) (local $xhat f32)
    (local.set $rowBytes (i32.shl (local.get $d) (i32.const 2)))
    (local.set $d4 (i32.shl (i32.and (local.get $d) (i32.const -4)) (i32.const 2)))
    (block $rdone (loop $lr
      (br_if $rdone (i32.ge_u (local.get $row) (local.get $rows)))
      (local.set $mean (f32.div (call $rowSum (local.get $x) (local.get $d)) (f32.convert_i32_u (local.get $d))))
      (local.set $r (f32.div (f32.const 1)
        (f32.sqrt (f32.add (f32.div (call $rowSquares (local.get $x) (local.get $d) (local.get $mean)) (f32.convert_i32_u (local.get $d))) (local.get $eps)))))
      (local.set $mv (f32x4.splat (local.get $mean)))
      (local.set $rv (f32x4.splat (local.get $r)))
      (local.set $i (i32.const 0))
      (block $vdone (loop $lv
        (br_if $vdone (i32.ge_u (local.get $i) (local.get $d4)))
        (v128.store align=4 (i32.add (local.get $out) (local.get $i))
          (f32x4.add
            (f32x4.mul (f32x4.mul (f32x4.sub (v128.load align=4 (i32.add (local.get $x) (local.get $i))) (local.get $mv)) (local.get $rv))
                       (v128.load align=4 (i32.add (local.get $gamma) (local.get $i))))
            (v128.load align=4 (i32.add (local.get $beta) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $lv)))
      (block $sdone (loop $ls
        (br_if $sdone (i32.ge_u (local.get $i) (local.get $rowBytes)))
        (local.set $xhat (f32.mul (f32.sub (f32.load (i32.add (local.get $x) (local.get $i))) (local.get $mean)) (local.get $r)))
        (f32.store (i32.add (local.get $out) (local.get $i))
          (f32.add (f32.mul (local.get $xhat) (f32.load (i32.add (local.get $gamma) (local.get $i)))) (f32.load (i32.add (local.get $beta) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $ls)))
      (local.set $x (i32.add (local.get $x) (local.get $rowBytes)))
      (local.set $out (i32.add (local.get $out) (local.get $rowBytes)))
      (local.set $row (i32.add (local.get $row) (i32.const 1)))
      (br $lr)))
  )

  ;; Its gradients from dy, x and γ (each row's statistics recomputed from x):
  ;;   x̂ = (x - mean)·r, g = dy·γ,  dx = r·(g - Σg/d - x̂·Σ(g·x̂)/d),
  ;;   dγ = Σrows dy·x̂,  dβ = Σrows dy  (rows added in order).
  (func (export "layerNormGrad") (param $dy i32) (param $x i32) (param $gamma i32) (param $dx i32) (param $dgamma i32) (param $dbeta i32)
    (param $rows i32) (param $d i32) (param $eps f32)
    (local $row i32) (local $i i32) (local $d4 i32) (local $rowBytes i32) (local $mean f32) (local $r f32)
    (local $mv v128) (local $rv v128) (local $xh v128) (local $dyv v128) (local $g v128) (local $sg v128) (local $sgx v128)
    (local $mg f32) (local $mgx f32) (local $xs f32) (local $dys f32) (local $gs f32) (local $sgs f32) (local $sgxs f32) (local $a i32)
    (local.set $rowBytes (i32.shl (local.get $d) (i32.const 2)))
    (local.set $d4 (i32.shl (i32.and (local.get $d) (i32.const -4)) (i32.const 2)))
    (memory.fill (local.get $dgamma) (i32.const 0) (local.get $rowBytes))
    (memory.fill (local.get $dbeta) (i32.const 0) (local.get $rowBytes))
    (block $rdone (loop $lr
      (br_if $rdone (i32.ge_u (local.get $row) (local.get $rows)))
      (local.set $mean (f32.div (call $rowSum (local.get $x) (local.get $d)) (f32.convert_i32_u (local.get $d))))
      (local.set $r (f32.div (f32.const 1)
        (f32.sqrt (f32.add (f32.div (call $rowSquares (local.get $x) (local.get $d) (local.get $mean)) (f32.convert_i32_u (local.get $d))) (local.get $eps)))))
      (local.set $mv (f32x4.splat (local.get $mean)))
      (local.set $rv (f32x4.splat (local.get $r)))
      ;; pass 1: Σg and Σg·x̂ (lane sums, as $rowSum), and the rows' shares of dγ and dβ
      (local.set $sg (v128.const f32x4 0 0 0 0))
      (local.set $sgx (v128.const f32x4 0 0 0 0))
      (local.set $i (i32.const 0))
      (block $vdone (loop $lv
        (br_if $vdone (i32.ge_u (local.get $i) (local.get $d4)))
        (local.set $xh (f32x4.mul (f32x4.sub (v128.load align=4 (i32.add (local.get $x) (local.get $i))) (local.get $mv)) (local.get $rv)))
        (local.set $dyv (v128.load align=4 (i32.add (local.get $dy) (local.get $i))))
        (local.set $g (f32x4.mul (local.get $dyv) (v128.load align=4 (i32.add (local.get $gamma) (local.get $i)))))
        (local.set $sg (f32x4.add (local.get $sg) (local.get $g)))
        (local.set $sgx (f32x4.add (local.get $sgx) (f32x4.mul (local.get $g) (local.get $xh))))
        (local.set $a (i32.add (local.get $dgamma) (local.get $i)))
        (v128.store align=4 (local.get $a) (f32x4.add (v128.load align=4 (local.get $a)) (f32x4.mul (local.get $dyv) (local.get $xh))))
        (local.set $a (i32.add (local.get $dbeta) (local.get $i)))
        (v128.store align=4 (local.get $a) (f32x4.add (v128.load align=4 (local.get $a)) (local.get $dyv)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $lv)))
      (local.set $sgs (f32.add (f32.add (f32x4.extract_lane 0 (local.get $sg)) (f32x4.extract_lane 1 (local.get $sg)))
                               (f32.add (f32x4.extract_lane 2 (local.get $sg)) (f32x4.extract_lane 3 (local.get $sg)))))
      (local.set $sgxs (f32.add (f32.add (f32x4.extract_lane 0 (local.get $sgx)) (f32x4.extract_lane 1 (local.get $sgx)))
                                (f32.add (f32x4.extract_lane 2 (local.get $sgx)) (f32x4.extract_lane 3 (local.get $sgx)))))
      (block $sdone (loop $ls
        (br_if $sdone (i32.ge_u (local.get $i) (local.get $rowBytes)))
        (local.set $xs (f32.mul (f32.sub (f32.load (i32.add (local.get $x) (local.get $i))) (local.get $mean)) (local.get $r)))
        (local.set $dys (f32.load (i32.add (local.get $dy) (local.get $i))))
        (local.set $gs (f32.mul (local.get $dys) (f32.load (i32.add (local.get $gamma) (local.get $i)))))
        (local.set $sgs (f32.add (local.get $sgs) (local.get $gs)))
        (local.set $sgxs (f32.add (local.get $sgxs) (f32.mul (local.get $gs) (local.get $xs))))
        (local.set $a (i32.add (local.get $dgamma) (local.get $i)))
        (f32.store (local.get $a) (f32.add (f32.load (local.get $a)) (f32.mul (local.get $dys) (local.get $xs))))
        (local.set $a (i32.add (local.get $dbeta) (local.get $i)))
        (f32.store (local.get $a) (f32.add (f32.load (local.get $a)) (local.get $dys)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $ls)))
      (local.set $mg (f32.div (local.get $sgs) (f32.convert_i32_u (local.get $d))))
      (local.set $mgx (f32.div (local.get $sgxs) (f32.convert_i32_u (local.get $d))))
      ;; pass 2: dx
      (local.set $i (i32.const 0))
      (block $v2done (loop $lv2
        (br_if $v2done (i32.ge_u (local.get $i) (local.get $d4)))
        (local.set $xh (f32x4.mul (f32x4.sub (v128.load align=4 (i32.add (local.get $x) (local.get $i))) (local.get $mv)) (local.get $rv)))
        (local.set $g (f32x4.mul (v128.load align=4 (i32.add (local.get $dy) (local.get $i))) (v128.load align=4 (i32.add (local.get $gamma) (local.get $i)))))
        (v128.store align=4 (i32.add (local.get $dx) (local.get $i))
          (f32x4.mul (local.get $rv)
            (f32x4.sub (f32x4.sub (local.get $g) (f32x4.splat (local.get $mg))) (f32x4.mul (local.get $xh) (f32x4.splat (local.get $mgx))))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $lv2)))
      (block $s2done (loop $ls2
        (br_if $s2done (i32.ge_u (local.get $i) (local.get $rowBytes)))
        (local.set $xs (f32.mul (f32.sub (f32.load (i32.add (local.get $x) (local.get $i))) (local.get $mean)) (local.get $r)))
        (local.set $gs (f32.mul (f32.load (i32.add (local.get $dy) (local.get $i))) (f32.load (i32.add (local.get $gamma) (local.get $i)))))
        (f32.store (i32.add (local.get $dx) (local.get $i))
          (f32.mul (local.get $r) (f32.sub (f32.sub (local.get $gs) (local.get $mg)) (f32.mul (local.get $xs) (local.get $mgx)))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $ls2)))
      (local.set $x (i32.add (local.get $x) (local.get $rowBytes)))
      (local.set $dy (i32.add (local.get $dy) (local.get $rowBytes)))
      (local.set $dx (i32.add (local.get $dx) (local.get $rowBytes)))
      (local.set $row (i32.add (local.get $row) (i32.const 1)))
      (br $lr)))
  )
)
