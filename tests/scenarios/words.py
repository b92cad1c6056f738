"""What a person reads and types in each language, so one scenario runs in both."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Words:
    """Button labels, questions and bits of the bot's answers in one language."""

    human: str
    human_now: str
    menu: str
    back: str
    solved: str
    not_solved: str
    form: str
    submit: str
    cancel: str
    skip: str
    done: str
    status: str
    close_ticket: str
    reopen: str
    forget_yes: str
    forget_no: str
    account: str
    banned: str
    menu_title: str
    greeting: str
    did_it_help: str
    question: str  # finds an article confidently
    article_title: str  # the title of that article
    nonsense: str  # finds nothing
    angry: str
    created: str  # "Ticket #{id} created" without the id
    queue: str
    estimate_unknown: str
    estimate: str
    relay_ack: str
    claimed: str
    closed_by_mod: str
    rate: str
    reopened: str
    reopen_expired: str
    forget_done: str
    not_your_button: str
    stale: str
    cancelled: str
    err_date_future: str
    err_date: str
    err_too_long: str
    err_not_image: str
    err_too_many_pixels: str
    err_too_many_images: str
    review: str
    no_match: str
    candidates: str
    repeated: str
    frustrated: str
    not_solved_none: str
    glad: str
    banned_notice: str
    exists: str
    no_ticket: str
    mod_prefix: str
    bad_input: str


EN = Words(
    human="Talk to a person",
    human_now="Talk to a person now",
    menu="Menu",
    back="Back",
    solved="Solved",
    not_solved="Not solved",
    form="Fill in the form",
    submit="Submit",
    cancel="Cancel",
    skip="Skip",
    done="Done",
    status="Ticket status",
    close_ticket="Close my ticket",
    reopen="Reopen",
    forget_yes="Yes, delete my data",
    forget_no="No, keep it",
    account="Account",
    banned="Suspended or restricted",
    menu_title="How can we help?",
    greeting="Hi!",
    did_it_help="Did this solve it?",
    question="forgot password",
    article_title="Forgot your password",
    nonsense="xyzzy plugh",
    angry="this is useless",
    created="created",
    queue="number 1 in the queue",
    estimate_unknown="don't have enough recent replies",
    estimate="Estimated wait: about",
    relay_ack="Added to ticket",
    claimed="picked up your ticket",
    closed_by_mod="was closed by a moderator",
    rate="Rate 1 (bad) to 5 (great)",
    reopened="is open again",
    reopen_expired="closed too long ago",
    forget_done="Your data has been deleted.",
    not_your_button="isn't for you",
    stale="no longer active",
    cancelled="Form cancelled",
    err_date_future="in the future",
    err_date="couldn't read that date",
    err_too_long="That's too long",
    err_not_image="isn't an image I can accept",
    err_too_many_pixels="too large in pixels",
    err_too_many_images="more images than this question takes",
    review="Please check your answers",
    no_match="couldn't find an article",
    candidates="I found a few articles",
    repeated="You asked this already",
    frustrated="frustrating",
    not_solved_none="Want to talk to a person?",
    glad="Glad it's solved",
    banned_notice="can't open new tickets",
    exists="You already have an open ticket",
    no_ticket="You have no open ticket.",
    mod_prefix="Moderator: ",
    bad_input="I couldn't read that",
)

ZH = Words(
    human="人工客服",
    human_now="直接转人工",
    menu="主菜单",
    back="返回",
    solved="已解决",
    not_solved="未解决",
    form="填写表单",
    submit="提交",
    cancel="取消",
    skip="跳过",
    done="完成",
    status="工单进度",
    close_ticket="关闭工单",
    reopen="重新打开",
    forget_yes="确认删除我的数据",
    forget_no="不删除",
    account="账号问题",
    banned="账号被封禁/限制",
    menu_title="请问遇到了什么问题？",
    greeting="你好！",
    did_it_help="这篇文章解决你的问题了吗？",
    question="忘记密码",
    article_title="忘记密码怎么重置",
    nonsense="火星移民计划的时间表",
    angry="什么垃圾客服",
    created="已创建工单",
    queue="排在第 1 位",
    estimate_unknown="暂时无法如实估计",
    estimate="预计等待约",
    relay_ack="已添加到工单",
    claimed="客服已接手",
    closed_by_mod="已由客服关闭",
    rate="请为本次服务打分",
    reopened="已重新打开",
    reopen_expired="关闭时间太久",
    forget_done="你的数据已删除",
    not_your_button="不是给你的",
    stale="已经失效",
    cancelled="已取消表单",
    err_date_future="日期还没到",
    err_date="无法识别这个日期",
    err_too_long="内容太长了",
    err_not_image="不是可接受的图片",
    err_too_many_pixels="像素尺寸过大",
    err_too_many_images="图片数量超过上限",
    review="请确认你的填写内容",
    no_match="没有找到相关的帮助文章",
    candidates="找到几篇可能有帮助的文章",
    repeated="这个问题你已经问过了",
    frustrated="很抱歉",
    not_solved_none="需要转人工客服吗",
    glad="很高兴问题解决了",
    banned_notice="暂时无法创建新工单",
    exists="你已经有一个未关闭的工单",
    no_ticket="你目前没有未关闭的工单。",
    mod_prefix="客服：",
    bad_input="无法识别这条消息",
)

WORDS = {"en": EN, "zh-CN": ZH}
