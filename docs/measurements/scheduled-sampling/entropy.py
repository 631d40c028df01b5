#!/usr/bin/env python3
# Usage (PyTorch from the project venv): .venv/bin/python entropy.py RUN_DIR...
# Mean per-token entropy of G's next-token distribution along G's own samples (nats),
# from a text run's checkpoint (safetensors read by hand: 8-byte header length + JSON).
import json, struct, sys, torch
def load(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    head = json.loads(b[8:8+n]); out = {}
    for k, v in head.items():
        if k == '__metadata__': continue
        s, e = v['data_offsets']; dt = {'F32': torch.float32, 'I64': torch.int64, 'F64': torch.float64}[v['dtype']]
        out[k] = torch.frombuffer(bytearray(b[8+n+s:8+n+e]), dtype=dt).view(v['shape'])
    return out
torch.manual_seed(0)
for run in sys.argv[1:]:
    t = load(run + '/checkpoint.safetensors')
    g = {k[2:]: v for k, v in t.items() if k.startswith('g.')}
    emb = g['emb.weight']; V, E = emb.shape; H = g['lstm.weight_hh_l0'].shape[1]
    lstm = torch.nn.LSTM(E, H, batch_first=True)
    lstm.load_state_dict({k[5:]: v for k, v in g.items() if k.startswith('lstm.')})
    W, bias = g['out.weight'], g['out.bias']
    with torch.no_grad():
        n = 5000; x = torch.zeros(n, dtype=torch.long); state = None; ent = 0.0
        for i in range(20):
            h, state = lstm(emb[x].unsqueeze(1), state)
            logp = torch.log_softmax(h[:, 0] @ W.T + bias, -1)
            ent += -(logp.exp() * logp).sum(-1).mean().item()
            x = torch.multinomial(logp.exp(), 1).squeeze(1)
    print(run, 'mean entropy per token %.3f' % (ent / 20))
