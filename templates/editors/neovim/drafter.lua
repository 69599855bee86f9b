-- drafter in Neovim (0.7 or later). Written by `drafter init`; re-run it to update this file.
-- Puts this directory on 'runtimepath' so `:compiler drafter` finds compiler/drafter.vim,
-- selects that compiler in PLAN.md buffers (so `:make` checks the plan), and defines
--   :DrafterPlan [SPEC]  draft PLAN.md beside SPEC (default: the current file), open it, check it
--   :DrafterCheck [ARGS] check the current plan (ARGS go to `drafter check`, e.g. --spec SPEC.md)
local here = vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h")
if not vim.tbl_contains(vim.opt.runtimepath:get(), here) then
  vim.opt.runtimepath:append(here)
end

vim.api.nvim_create_autocmd({ "BufRead", "BufNewFile" }, {
  group = vim.api.nvim_create_augroup("drafter", { clear = true }),
  pattern = "PLAN.md",
  command = "compiler drafter",
})

vim.api.nvim_create_user_command("DrafterCheck", function(opts)
  vim.cmd("compiler drafter")
  vim.cmd("make " .. opts.args)
end, { nargs = "*", complete = "file", desc = "drafter check: findings into the quickfix list" })

vim.api.nvim_create_user_command("DrafterPlan", function(opts)
  local spec = vim.fn.fnamemodify(opts.args ~= "" and opts.args or vim.fn.expand("%"), ":p")
  local output = vim.fn.system({ "drafter", "spec-to-plan", spec })
  -- Exit 1 still writes the plan (a MUST rule fails, and the check below shows which);
  -- 2 and 3 (bad input, provider failure) write nothing worth opening.
  if vim.v.shell_error >= 2 then
    vim.notify(output, vim.log.levels.ERROR)
    return
  end
  vim.cmd("edit " .. vim.fn.fnameescape(vim.fn.fnamemodify(spec, ":h") .. "/PLAN.md"))
  vim.cmd("DrafterCheck")
end, { nargs = "?", complete = "file", desc = "drafter spec-to-plan, then check the plan" })
