;; tscolab's own WebAssembly SIMD kernels. They import tfjs-backend-wasm's
;; memory and work on tensors in place of where tfjs keeps them (byte
;; offsets), so nothing is copied in or out.
;;
;; Rebuild after editing (wabt):  node dist/magics/shared/kernels/simd/regenerate.js
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
)
