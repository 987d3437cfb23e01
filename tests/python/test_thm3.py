"""test_thm3.py: `hyperntk thm3`'s training statistics against an independent
numpy computation from the per-sample data it saves (--save-samples): eta =
c / lambda_max(Theta^h(U,U)) (numpy eigvalsh), the losses, the drift
||K_T - K_0||_F / ||K_0||_F, the linearized GD r_{t+1} = (I - eta K) r_t with
the sample's K_0 and with Theta^h (theta, theta_test) and its distances to the
trained predictions, the fraction of unstable K_0, the dK/dt norms relative to
Theta^h from the saved matrices (dK = dK_g + dK_f, symmetric), and every cell
summary (RMS, mean or median over the samples).
Usage: test_thm3.py PATH/TO/hyperntk WORKDIR"""
import os
import shutil
import subprocess
import sys

try:
    import h5py
    import numpy as np
except ImportError:
    print("skipped: numpy and h5py are needed")
    sys.exit(77)

binary, work = sys.argv[1], sys.argv[2]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
os.chdir(work)
failed = 0
passed = 0


def check(cond, what):
    global failed, passed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what, file=sys.stderr)


def close(got, want, rtol, what):
    got, want = np.asarray(got, float), np.asarray(want, float)
    err = np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-300))
    check(err <= rtol, "%s: rel err %.3g > %.3g" % (what, err, rtol))
    return err


steps, lr = 15, 0.7
subprocess.run([binary, "thm3", "--f-widths", "8,32", "--g-widths", "4,16", "--train", "5", "--test", "3",
                "--samples", "9", "--steps", str(steps), "--lr", str(lr), "--save-samples", "--out", "t.h5"],
               check=True, stdout=subprocess.DEVNULL, env=dict(os.environ, OMP_NUM_THREADS="2"))
worst = 0.0
with h5py.File("t.h5", "r") as f:
    theta, theta_t, y = f["theta"][...], f["theta_test"][...], f["inputs/y"][...]
    B, T = theta.shape[0], theta_t.shape[0]
    M = B + T
    eta = f.attrs["eta"]
    worst = max(worst, close(eta, lr / np.linalg.eigvalsh(theta)[-1], 1e-13, "eta"))
    st, h0, hT = f["samples/stats"][...], f["samples/h_0"][...], f["samples/h_T"][...]
    K0, KT = f["samples/K_0"][...], f["samples/K_T"][...]
    dKg, dKf = f["samples/dK_g"][...], f["samples/dK_f"][...]
    sh = K0.shape[:3]
    K0, KT = K0.reshape(sh + (M, M)), KT.reshape(sh + (B, B))
    dKg, dKf = dKg.reshape(sh + (B, B)), dKf.reshape(sh + (B, B))
    cols = f["samples/stats"].attrs["columns"]
    cols = (cols.decode() if isinstance(cols, bytes) else cols).split()
    A, G, N = st.shape[:3]
    tnorm = np.linalg.norm(theta)
    Kth = np.vstack([theta, theta_t])  # (M, B)
    ref = np.zeros_like(st)
    for a in range(A):
        for g in range(G):
            for s in range(N):
                r = {}
                k0 = K0[a, g, s]
                r["dK_g"] = np.linalg.norm(dKg[a, g, s]) / tnorm
                r["dK_f"] = np.linalg.norm(dKf[a, g, s]) / tnorm
                r["dK"] = np.linalg.norm(dKg[a, g, s] + dKf[a, g, s]) / tnorm
                check(np.array_equal(dKg[a, g, s], dKg[a, g, s].T) and np.array_equal(dKf[a, g, s], dKf[a, g, s].T),
                      "dK/dt terms not symmetric")
                r["K0_dev"] = np.linalg.norm(k0[:B, :B] - theta) / tnorm
                r["drift"] = np.linalg.norm(KT[a, g, s] - k0[:B, :B]) / np.linalg.norm(k0[:B, :B])
                for name, K in (("emp", k0[:, :B]), ("theta", Kth)):
                    lin = h0[a, g, s].copy()
                    for _ in range(steps):
                        lin = lin - eta * K @ (lin[:B] - y)
                    d = hT[a, g, s] - lin
                    r["lin_test_" + name] = np.sqrt(np.mean(d[B:] ** 2))
                    r["lin_train_" + name] = np.sqrt(np.mean(d[:B] ** 2))
                r["loss_0"] = 0.5 * np.sum((h0[a, g, s, :B] - y) ** 2)
                r["loss_T"] = 0.5 * np.sum((hT[a, g, s, :B] - y) ** 2)
                r["move_test"] = np.sqrt(np.mean((hT[a, g, s, B:] - h0[a, g, s, B:]) ** 2))
                r["lin_unstable"] = float(eta * np.linalg.eigvalsh(k0[:B, :B])[-1] >= 2.0)
                ref[a, g, s] = [r[c] for c in cols]
    for k, c in enumerate(cols):
        # the linearized model with an unstable K_0 grows like (eta lambda)^steps: compare relative
        worst = max(worst, close(st[..., k], ref[..., k], 1e-9, "per-sample " + c))
        v = ref[..., k]
        if c in ("dK_g", "dK_f", "dK", "K0_dev"):
            want = np.sqrt(np.mean(v ** 2, axis=2))
        elif c.startswith("lin_t") or c == "move_test":
            want = np.median(v, axis=2)
        else:
            want = np.mean(v, axis=2)
        worst = max(worst, close(f[c][...], want, 1e-9, "cell summary " + c))
        lo, hi = f[c + "_ci_low"][...], f[c + "_ci_high"][...]
        check(np.all(lo <= hi), c + ": interval reversed")
print("largest relative difference to the numpy recomputation: %.3g" % worst)
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
