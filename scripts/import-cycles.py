#!/usr/bin/env python3
"""Lists the import cycles between files of src/: file A uses an item of file
B (a `use` line, a `crate::`/`super::` path, or a parent `mod.rs` using its
children's items) while B, directly or through others, uses A. Comment lines
and unit-test modules at the end of a file are not imports. Exits 1 when a
cycle exists. Run from the repository root."""
import os,re,sys,collections
root='src'
mods={}
def modpath(f):
    p=f[len(root)+1:-3].split('/')
    if p[-1]=='mod': p=p[:-1]
    if p==['lib'] or p==['main']: p=[]
    return tuple(p)
files=[]
for d,_,fs in os.walk(root):
    for f in fs:
        if f.endswith('.rs'): files.append(os.path.join(d,f))
bymod={modpath(f):f for f in files}
edges=collections.defaultdict(set)

IDENT=re.compile(r'[A-Za-z_][A-Za-z_0-9]*')
def use_tree(s,i):
    """Paths (lists of segments) of the path or use tree at s[i:]: `a::b::C`,
    `a::{b, c::D}`, `a::*`. Stops at anything else (an expression's `(`...)."""
    m=IDENT.match(s,i)
    if m:
        seg=m.group(0); j=m.end()
        if s.startswith('::',j):
            k=j+2
            while k<len(s) and s[k] in ' \t\n': k+=1
            return [[seg]+p for p in use_tree(s,k)]
        return [[seg]]
    if i<len(s) and s[i]=='{':
        out=[]; j=i+1
        while j<len(s):
            while j<len(s) and s[j] in ' \t\n,': j+=1
            if j>=len(s) or s[j]=='}': break
            sub=use_tree(s,j)
            out+=sub or [[]]
            # skip to the next top-level ',' or '}'
            depth=0
            while j<len(s):
                if s[j]=='{': depth+=1
                elif s[j]=='}':
                    if depth==0: break
                    depth-=1
                elif s[j]==',' and depth==0: break
                j+=1
        return out or [[]]
    return [[]]  # `*` or nothing more

def inline_mods(src):
    """(start, end, name) of every `mod name { ... }` written inline."""
    spans=[]
    for m in re.finditer(r'\bmod\s+([A-Za-z_][A-Za-z_0-9]*)\s*\{',src):
        depth=0
        for j in range(m.end()-1,len(src)):
            if src[j]=='{': depth+=1
            elif src[j]=='}':
                depth-=1
                if depth==0: spans.append((m.end(),j,m.group(1))); break
    return spans

def module_at(me,spans,pos):
    return me+tuple(name for (a,b,name) in sorted(spans) if a<=pos<=b)

def target(path):
    """The file of the longest prefix of `path` that is a file module."""
    for i in range(len(path),-1,-1):
        if tuple(path[:i]) in bymod: return bymod[tuple(path[:i])]
    return None

for f in files:
    me=modpath(f)
    text=open(f).read()
    # unit tests at the end of a file (`#[cfg(test)] mod tests { use super::*; }`)
    # name their own parent with `super`: they are not imports of the file
    cut=re.search(r'^#\[cfg\(test\)\]\s*\nmod \w+ \{', text, re.M)
    if cut: text=text[:cut.start()]
    src='\n'.join(l for l in text.split('\n') if not l.strip().startswith('//'))
    spans=inline_mods(src)
    for m in re.finditer(r'(?<![\w:])(crate|(?:super::)+)',src):
        if m.group(1)=='crate':
            if not src.startswith('::',m.end()): continue
            base=(); start=m.end()+2
        else:
            ups=m.group(1).count('super::')
            here=module_at(me,spans,m.start())
            base=here[:-ups] if ups<=len(here) else ()
            start=m.end()
        for p in use_tree(src,start):
            t=target(list(base)+p)
            if t and t!=f: edges[f].add(t)
    # a parent (mod.rs / lib.rs) using its children by relative path
    if f.endswith('mod.rs') or f.endswith('lib.rs'):
        for child, cf in bymod.items():
            if len(child)==len(me)+1 and child[:len(me)]==me:
                name=child[-1]
                for line in src.split('\n'):
                    t=line.strip()
                    if t.startswith('mod ') or t.startswith('pub mod ') or t.startswith('pub(crate) mod ') or t.startswith('#'): continue
                    if re.search(r'(?<![:\w])'+name+r'::', t) or re.search(r'self::'+name+r'\b', t):
                        if cf!=f: edges[f].add(cf)
                        break
# Tarjan SCC
idx={};low={};st=[];on=set();sccs=[];c=[0]
sys.setrecursionlimit(10000)
def sc(v):
    idx[v]=low[v]=c[0];c[0]+=1;st.append(v);on.add(v)
    for w in edges[v]:
        if w not in idx: sc(w);low[v]=min(low[v],low[w])
        elif w in on: low[v]=min(low[v],idx[w])
    if low[v]==idx[v]:
        comp=[]
        while True:
            w=st.pop();on.discard(w);comp.append(w)
            if w==v:break
        if len(comp)>1:sccs.append(comp)
for f in files:
    if f not in idx: sc(f)
for s in sccs: print('CYCLE:',sorted(s))
print(len(sccs),'cycles')
sys.exit(1 if sccs else 0)
