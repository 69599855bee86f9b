-- drafter: :DrafterPlan, :DrafterCheck and the PLAN.md compiler (written by `drafter init`).
dofile(".nvim/drafter.lua")
