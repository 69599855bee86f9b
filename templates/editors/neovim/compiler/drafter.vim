" Vim compiler file: `drafter check` on the current plan, findings into the quickfix list.
" Written by `drafter init`; re-run it to update this file.
" Each finding is one line: FILE:LINE:COL: error|warning|note: RULE-ID message
" (%t takes the severity's first letter: e, w or n; the rule ID stays in the message).

if exists("current_compiler")
  finish
endif
let current_compiler = "drafter"

if exists(":CompilerSet") != 2
  command -nargs=* CompilerSet setlocal <args>
endif

let s:cpo_save = &cpo
set cpo&vim

CompilerSet makeprg=drafter\ check\ %:S
CompilerSet errorformat=%f:%l:%c:\ %t%*[a-z]:\ %m

let &cpo = s:cpo_save
unlet s:cpo_save
