"""The words specs use for their parts, in the languages seen in real specs.

Kiro writes `requirements.md` in the user's language (`### 需求 1`, `#### 受け入れ基準`), and
spec-kit templates get translated; each tuple lists lower-case fragments a heading may contain.
Add a language by adding its words here; nothing else needs to change.
"""

from __future__ import annotations

import re

# `### Requirement 1`, `### 需求 1：标题`, `### 要件1:`, `### Требование 1`, `## R1: Title`.
KIRO_REQUIREMENT_WORDS = (
    "Requirement",
    "Req",
    "需求",
    "要求",
    "要件",
    "Требование",
    "Requisito",
    "Requisitos",
    "요구사항",
    "요구 사항",
    "Exigence",
    "Anforderung",
    "Requisito",
    "Wymaganie",
    "Vereiste",
    "Gereksinim",
    "Yêu cầu",
)
KIRO_REQUIREMENT = re.compile(
    r"^(?:(?:" + "|".join(map(re.escape, KIRO_REQUIREMENT_WORDS)) + r")\.?\s*|R(?=\d))"
    r"(\d+)(?![\d.,]\d)\s*(?:[:：.、—–-]\s*)?(.*)$",
    re.I,
)

# H1 texts that name the document type, not the feature (Kiro's "# Requirements Document").
DOCUMENT_TYPES = (
    "requirements document",
    "requirements specification",
    "需求文档",
    "需求规格说明书",
    "需求说明书",
    "需求规格",
    "要件定義書",
    "要件定義ドキュメント",
    "要件定義",
    "要件仕様書",
    "документ требований",
    "требования",
    "documento de requisitos",
    "documento de requerimientos",
    "요구사항 문서",
    "요구사항 정의서",
    "요구사항 명세서",
    "anforderungsdokument",
    "document d'exigences",
)

# Prefixes stripped from an H1 to leave the feature's name ("Feature Specification: X").
TITLE_PREFIX = re.compile(
    r"^(?:Feature\s+Specification|Feature\s+Spec|Specification|Spec|Change|Proposal|Feature"
    r"|Requirements\s+Document|Requirements|变更|變更|変更|Изменение|Cambio|Mudança|功能规格说明书?|功能规格|功能规范|功能说明书?|功能需求"
    r"|需求文档|需求规格说明书?|機能仕様書?|機能仕様|要件定義書|要件定義|仕様書"
    r"|Спецификация\s+функции|Спецификация|Документ\s+требований|Требования"
    r"|Especificación\s+de\s+(?:la\s+)?funcionalidad|Especificación|Documento\s+de\s+requisitos"
    r"|Especificação\s+de\s+funcionalidade|기능\s*명세서?|요구사항\s*문서)"
    r"\s*[:：—–-]\s*",
    re.I,
)

# The same document-type words written after the name, as Chinese and Japanese titles do
# ("门店排班系统需求文档", "决算システム 要件定義書", "X - Requirements Document").
TITLE_SUFFIX = re.compile(
    r"\s*[—–:：-]?\s*(?:需求文档|需求规格说明书?|需求说明书?|要件定義書|要件定義ドキュメント|要件定義"
    r"|仕様書|Requirements\s+Document|Requirements\s+Specification)\s*$",
    re.I,
)

# What a heading says the blocks under it are; checked in this order.
SECTION_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "nfr",
        (
            "non-functional",
            "nonfunctional",
            "non functional",
            "非功能",
            "非機能",
            "нефункциональн",
            "no funcional",
            "não funcional",
            "não-funcional",
            "비기능",
            "nicht-funktional",
            "non fonctionnel",
            "non-fonctionnel",
        ),
    ),
    (
        "success",
        (
            "success criteria",
            "measurable outcome",
            "成功标准",
            "成功指标",
            "成功基準",
            "成功条件",
            "критерии успеха",
            "criterios de éxito",
            "critérios de sucesso",
            "성공 기준",
        ),
    ),
    (
        "scenarios",
        (
            "acceptance scenario",
            "验收场景",
            "受け入れシナリオ",
            "受入シナリオ",
            "сценарии приемки",
            "сценарии приёмки",
            "escenarios de aceptación",
            "인수 시나리오",
        ),
    ),
    (
        "criteria",
        (
            "acceptance criteria",
            "acceptance criterion",
            "验收标准",
            "验收条件",
            "验收准则",
            "受け入れ基準",
            "受入基準",
            "受け入れ条件",
            "受入条件",
            "인수 기준",
            "승인 기준",
            "수용 기준",
            "인수 조건",
            "수락 기준",
            "критерии приемки",
            "критерии приёмки",
            "критерии принятия",
            "criterios de aceptación",
            "critérios de aceitação",
            "critères d'acceptation",
            "akzeptanzkriterien",
            "criteri di accettazione",
        ),
    ),
    (
        "edge",
        (
            "edge case",
            "边界情况",
            "边缘情况",
            "边界条件",
            "エッジケース",
            "境界条件",
            "граничные случаи",
            "крайние случаи",
            "casos límite",
            "casos extremos",
            "엣지 케이스",
        ),
    ),
    (
        "entities",
        (
            "entity",
            "entities",
            "glossary",
            "术语表",
            "术语",
            "关键实体",
            "用語集",
            "エンティティ",
            "용어집",
            "용어 사전",
            "глоссарий",
            "сущности",
            "glosario",
            "glossário",
            "entidades",
        ),
    ),
    (
        "assumptions",
        (
            "assumption",
            "dependenc",
            "假设",
            "前提条件",
            "前提",
            "допущени",
            "предположени",
            "supuestos",
            "premissas",
            "가정",
        ),
    ),
    (
        "requirements",
        (
            "requirement",
            "需求",
            "要求",
            "要件",
            "требовани",
            "requisito",
            "requerimiento",
            "요구사항",
            "exigence",
            "anforderung",
        ),
    ),
)
INTRO_WORDS = (
    "introduction",
    "overview",
    "summary",
    "purpose",
    "background",
    "description",
    "简介",
    "引言",
    "概述",
    "介绍",
    "はじめに",
    "概要",
    "序論",
    "введение",
    "обзор",
    "introducción",
    "resumen",
    "introdução",
    "visão geral",
    "소개",
    "개요",
)

# `**User Story:**` and its translations; cc-sdd writes `**Objective:**` in the same place.
USER_STORY_LABELS = (
    "user story",
    "story",
    "summary",
    "as a",
    "作为",
    "objective",
    "用户故事",
    "用戶故事",
    "目标",
    "ユーザーストーリー",
    "目的",
    "사용자 스토리",
    "유저 스토리",
    "목적",
    "пользовательская история",
    "история пользователя",
    "цель",
    "historia de usuario",
    "história de usuário",
    "objetivo",
)
