"""The seed site's back end (Django views of the blog post in
/work/shared/seeds/000_8038f9aa1a353da8.txt), its code as written there, with only these changes:

* ``mykey`` (the seed's ``utils.tenxunyun.mykey``) is set by the test to the server's key pair;
* ``&currentTimeStamp`` is written as such: the blog's HTML turned ``&curren`` into ``¤``
  (``¤tTimeStamp``), which no server, Tencent's included, would accept;
* ``httpProfile.endpoint`` names the OpenVOD under test (``ENDPOINT``), over plain HTTP, instead of
  ``vod.tencentcloudapi.com``;
* ``getVideoResponse`` sleeps between DescribeTaskDetail calls (the seed asks again at once, in a
  busy loop), so the test does not spin on a machine shared with the worker, and gives up after
  ``TASK_DEADLINE`` seconds rather than never.

The Django wrappers (``CreateSignatureView``, ``GetVideoResponseView``) become the two handlers
of ``tests/integration/seed/site.py``; their JSON envelope (``to_json_data``) is theirs.
"""
# ruff: noqa: N802, N803, N806, UP031, UP032, E501 - the seed's names and formatting, kept

from __future__ import annotations

import base64
import hmac
import json
import random
import time
from hashlib import sha1
from types import SimpleNamespace

from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.vod.v20180717 import models, vod_client

mykey = SimpleNamespace(secretId="", secretKey="")
ENDPOINT = ""  # host:port of the OpenVOD under test
TASK_DEADLINE = 180.0


def create_signature() -> str:
    """CreateSignatureView.post, less the Django envelope."""
    #currentTimeStamp:当前时间戳,expireTime:签名有效期时间戳,random:无符号32位随机数,procedure:任务流模板名(记得先开启你的任务流,在VOD首页可以找到)
    Original = 'secretId={}&currentTimeStamp={}&expireTime={}&random={}&procedure={}'.format(mykey.secretId, int(time.time()),int(time.time()) + 10000,random.randint(1000, 9999999),'xxx')
    #通过hmac加密和base64编码生成签名,需要填你的secretKey
    SignatureTmp = str(base64.b64encode(hmac.new(mykey.secretKey.encode('utf-8'), Original.encode('utf-8'), sha1).digest() + Original.encode('utf-8')), 'utf-8')
    return SignatureTmp


#生成TaskId
def getVideoTaskId(FileId):
    try:
        cred = credential.Credential(mykey.secretId, mykey.secretKey)
        httpProfile = HttpProfile()
        httpProfile.endpoint = ENDPOINT
        httpProfile.scheme = "http"
        clientProfile = ClientProfile()
        clientProfile.httpProfile = httpProfile
        client = vod_client.VodClient(cred, "", clientProfile)
        req = models.ProcessMediaRequest()
        params = '{"FileId":"%s","MediaProcessTask":{"AnimatedGraphicTaskSet":[{"Definition":20000,"StartTimeOffset":0,"EndTimeOffset":0}],"CoverBySnapshotTaskSet":[{"Definition":10,"PositionType":"Time","PositionValue":0}]}}'%FileId
        req.from_json_string(params)
        resp = client.ProcessMedia(req)
        print(resp.to_json_string())
        # print(resp.TaskId)
        # print(type(resp.TaskId))
        return resp.TaskId
    except TencentCloudSDKException as err:
        print(err)
        return None


def getVideoResponse(TaskId):
    try:
        cred = credential.Credential(mykey.secretId, mykey.secretKey)#你的secretId、secretKey
        httpProfile = HttpProfile()
        httpProfile.endpoint = ENDPOINT
        httpProfile.scheme = "http"
        clientProfile = ClientProfile()
        clientProfile.httpProfile = httpProfile
        client = vod_client.VodClient(cred, "", clientProfile)
        req = models.DescribeTaskDetailRequest()
        params = '{"TaskId":"%s"}'%TaskId
        req.from_json_string(params)
        resp = client.DescribeTaskDetail(req)
        # print(resp.to_json_string())
        # print(resp.Status)
        #为了避免腾讯云未处理完而获取数据不全的情况,需要多次请求以获取全部数据,这里不使用递归,占内存而且多次返回,难以获取最底层的值
        delay, deadline = 0.1, time.monotonic() + TASK_DEADLINE  # not in the seed (see the docstring)
        while resp.Status != "FINISH":
            if time.monotonic() > deadline:
                raise TimeoutError(f"task {TaskId} not FINISH after {TASK_DEADLINE} s: {resp.to_json_string()}")
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
            req.from_json_string(params)
            resp = client.DescribeTaskDetail(req)
        return resp.to_json_string()
    except TencentCloudSDKException as err:
        print(err)
        return None


def get_video_response_view(json_data: bytes) -> dict[str, object]:
    """GetVideoResponseView.post's body, less the Django envelope: the task's details."""
    dict_data = json.loads(json_data.decode('utf-8'))
    fileId = dict_data['fileId']
    task_id = getVideoTaskId(fileId) #生成TaskId
    result: dict[str, object] = json.loads(getVideoResponse(task_id)) #回调视频详情数据
    return result
