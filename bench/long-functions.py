#!/usr/bin/env python3
"""Functions in src/ longer than 120 lines, outside test modules, longest first (a brace
counter: strings and comments are skipped, good enough for rustfmt-formatted code).
Usage: python3 bench/long-functions.py"""
import re,sys,os
res=[]
SRC=os.path.join(os.path.dirname(os.path.abspath(__file__)),"..","src")
for root,_,files in os.walk(SRC):
    for f in files:
        if not f.endswith('.rs'): continue
        p=os.path.join(root,f); lines=open(p).read().split('\n')
        in_tests=False
        i=0
        while i<len(lines):
            l=lines[i]
            if re.match(r'\s*#\[cfg\(test\)\]',l): break
            m=re.match(r'\s*(pub(\([a-z]+\))? )?(async )?(const )?(unsafe )?fn (\w+)',l)
            if m:
                # find opening brace then match
                depth=0; started=False; j=i
                while j<len(lines):
                    s=re.sub(r'"(\\.|[^"\\])*"','""',lines[j])
                    s=re.sub(r"'(\\.|[^'\\])'","''",s)
                    s=s.split('//')[0]
                    for c in s:
                        if c=='{': depth+=1; started=True
                        elif c=='}': depth-=1
                    if started and depth==0: break
                    if not started and s.rstrip().endswith(';'): break
                    j+=1
                n=j-i+1
                if n>120: res.append((n,p,i+1,m.group(6)))
                i=j+1; continue
            i+=1
for n, path, line, name in sorted(res, reverse=True):
    print(n, os.path.relpath(path, os.path.join(SRC, "..")), line, name)
print(len(res), "functions over 120 lines")
